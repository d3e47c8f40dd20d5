"""Up, down, status and env for a set of components: the harness's engine, UI-free.

The orchestrator decides what and when; a runtime (sandbox/runtimes) decides how. `up` is
idempotent: nothing is spawned until every selected component passed its prerequisite and
preflight (port, engine, image) checks; then each component starts as soon as what it stands on is
healthy. By default that is every selected component of an earlier kind (base.Kind); a component
may name its own (`needs`, e.g. Terraform needs only the AWS emulator, so it runs while Flink
boots), and one that nothing stands on (`needed_by_later_tiers = False`, the analytics job) is
not waited for. Endpoints are gathered once (sandbox/endpoints.py) and handed to every component.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from sandbox import components, health_cache, process
from sandbox.components.base import Component, Kind
from sandbox.endpoints import Endpoints
from sandbox.errors import SandboxError
from sandbox.observability import scrape
from sandbox.runtimes import Progress, Runtime, Status, UpResult
from sandbox.runtimes.task import TaskRuntime
from sandbox.settings import Settings
from sandbox.settings import settings as default_settings
from sandbox.state import ComponentRecord, StateDir

LOCK_WAIT = 60.0  # `up`/`down` wait this long for the monitor's reconcile or another command

__all__ = ["Sandbox", "Status", "UpResult"]


def _runtime(settings: Settings, state: StateDir) -> Runtime:
    """What runs the components that are not tasks (cluster mode: all but the services)."""
    if settings.runtime == "docker":
        from sandbox.runtimes.docker import DockerRuntime  # imports the docker SDK's helpers

        return DockerRuntime(settings, state)
    from sandbox.runtimes.native import NativeRuntime

    return NativeRuntime(settings, state)


class Sandbox:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or default_settings()
        self.state = StateDir(self.settings.state_dir)
        self.owner = str(self.state.root.resolve())
        self.endpoints = Endpoints(self.settings, self.state)
        self._runtime = _runtime(self.settings, self.state)
        self._tasks = TaskRuntime(self.settings, self.state)
        self._services: Runtime = self._runtime
        self.first_up_snapshot_s: float | None = None  # set by an `up` that took the first-up snapshot
        if self.settings.runtime == "cluster":
            from sandbox.runtimes.cluster import ClusterRuntime  # the services run in the cluster

            self._services = ClusterRuntime(self.settings, self.state)

    def component(self, name: str) -> Component:
        return components.load(name, self.settings.runtime)(self.settings, self.state, self.endpoints)

    def names(self, only: str | None = None) -> list[str]:
        return components.select(only, self.settings.runtime)

    def runtime(self, comp: Component) -> Runtime:
        if comp.kind is Kind.TASK:
            return self._tasks
        return self._services if comp.kind is Kind.SERVICE else self._runtime

    # ---------------------------------------------------------------- up
    def up(self, only: str | None = None, progress: Progress = lambda name, phase: None) -> list[UpResult]:
        chosen = [self.component(n) for n in self.names(only)]
        with self.state.lock(wait=LOCK_WAIT):
            for comp in chosen:
                comp.check_prerequisites()
            for comp in chosen:
                self.runtime(comp).preflight(comp)
            results, errors = self._start_all(chosen, progress)
            if results:
                self._ensure_monitor()
                scrape.refresh(self.settings, self.state)  # the replicas `up` started
            if errors:
                raise SandboxError("; ".join(errors))
        if only is None and self.settings.snapshots.first_up:
            from sandbox.snapshots import FIRST_UP, Snapshots

            snapshots = Snapshots(self)
            if snapshots.supported() and not snapshots.path(FIRST_UP).exists():
                started = time.monotonic()
                progress("first-up snapshot", "saving")
                snapshots.save(FIRST_UP)
                progress("first-up snapshot", "healthy")
                self.first_up_snapshot_s = time.monotonic() - started
        return results

    @staticmethod
    def _needs(comp: Component, chosen: list[Component]) -> set[str]:
        names = {c.name for c in chosen}
        if comp.needs == ("*",):  # everything else (the init hooks)
            return names - {comp.name}
        if comp.needs is not None:
            return set(comp.needs) & names
        return {c.name for c in chosen if c.kind.tier < comp.kind.tier and c.needed_by_later_tiers}

    def _start_all(self, chosen: list[Component], progress: Progress) -> tuple[list[UpResult], list[str]]:
        """Start each component once its needs are up, in parallel; after a failure nothing new starts."""
        needs = {c.name: self._needs(c, chosen) for c in chosen}
        pending = {c.name: c for c in chosen}
        running: dict = {}
        done: set[str] = set()
        results: list[UpResult] = []
        errors: list[str] = []
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            while pending or running:
                if not errors:
                    for name in [n for n in pending if needs[n] <= done]:
                        comp = pending.pop(name)
                        running[pool.submit(self.runtime(comp).up, comp, progress, roll_out=True)] = comp
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    comp = running.pop(future)
                    try:
                        results.append(future.result())
                        done.add(comp.name)
                        if comp.kind is Kind.TASK:
                            self.endpoints.refresh()  # new outputs (table and bucket names)
                    except SandboxError as exc:
                        progress(comp.name, "failed")
                        errors.append(str(exc))
        order = [c.name for c in chosen]
        return sorted(results, key=lambda r: order.index(r.name)), errors

    def restart_crashed_services(self) -> list[str]:
        """Restart services whose process died (a Deployment's restart policy); infra is left
        dead on purpose until `up`, so faults stay visible. Skips the round while `up`/`down` run."""
        services = [self.component(n) for n in components.names_of(Kind.SERVICE, self.settings.runtime)]
        crashed = [c for c in services if self.runtime(c).crashed(c)]
        if not crashed:
            return []
        try:
            with self.state.lock():
                for comp in crashed:
                    self.runtime(comp).up(comp, lambda name, phase: None)
        except SandboxError:
            return []
        return [c.name for c in crashed]

    def scale(self, name: str, replicas: int) -> bool:
        """Set a service's replica count and reconcile its processes; False if `up`/`down` runs."""
        comp = self.component(name)
        try:
            with self.state.lock():
                comp.set_replicas(replicas)
                self.runtime(comp).up(comp, lambda n, phase: None)
                scrape.refresh(self.settings, self.state)
        except SandboxError:
            return False
        return True

    def _ensure_monitor(self) -> None:
        record = self.state.load(health_cache.MONITOR)
        if record and all(process.is_running(p) for p in record.processes):
            return
        proc = process.spawn(health_cache.MONITOR, [sys.executable, "-m", "sandbox.monitor"],
                             self.state.log_file(health_cache.MONITOR), self.owner, health_cache.MONITOR)
        self.state.save(ComponentRecord(health_cache.MONITOR, 0, time.time(), [proc]))

    # ---------------------------------------------------------------- down
    def down(self, only: str | None = None, wipe: bool = False) -> list[str]:
        chosen = [self.component(n) for n in self.names(only)]
        with self.state.lock(wait=LOCK_WAIT):
            # all at once: every process gets its stop signal (SIGKILL after 4 s) in parallel,
            # and nothing is lost by stopping a service after the broker or database
            with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
                running = pool.map(lambda c: self.runtime(c).down(c), chosen)
                stopped = [c.name for c, was_running in zip(chosen, running, strict=True) if was_running]
            if not only:
                self._runtime.teardown()
                if self._services is not self._runtime:
                    self._services.teardown()
                process.kill_processes(process.owned_processes(self.owner))  # the monitor, orphans
                self.state.remove(health_cache.MONITOR)
                if wipe:
                    self.state.wipe()
                    from sandbox.snapshots import FIRST_UP, Snapshots

                    Snapshots(self).drop(FIRST_UP)  # it describes what was wiped; named ones stay
        return stopped

    # ---------------------------------------------------------------- status / env / logs
    def status(self) -> list[Status]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self._status_one, [self.component(n) for n in self.names()]))

    def _status_one(self, comp: Component) -> Status:
        status = self.runtime(comp).status(comp)
        status.kind = comp.kind.value
        return status

    def env(self) -> dict[str, str]:
        return dict(self.endpoints.host)

    def logs(self, name: str, lines: int):
        """(log files, text to show first) of one component, from its runtime."""
        comp = self.component(name)
        return self.runtime(comp).logs(comp, lines)
