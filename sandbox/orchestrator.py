"""Up, down, status and env for a set of components: the harness's engine, UI-free.

`up` is idempotent: live, healthy components are reused; dead processes are restarted; processes
started from older code or config are rolled out one at a time (`Component.revision`); nothing is
spawned until every selected component passed its prerequisite and port checks.

Start order: a component starts as soon as what it stands on is healthy, not a whole tier later.
By default that is every selected component of a lower tier; a component may name its own
(`needs`, e.g. Terraform needs only the AWS emulator, so it runs while Flink boots), and one that
nothing stands on (`needed_by_later_tiers = False`, the analytics job) is not waited for.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sandbox import components, monitor, process
from sandbox.components.base import Component, tail
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.poll import ProcessExited, wait_for
from sandbox.settings import Settings
from sandbox.settings import settings as default_settings
from sandbox.state import ComponentRecord, ProcessRecord, StateDir

Progress = Callable[[str, str], None]  # (component, phase)
LOCK_WAIT = 60.0  # `up`/`down` wait this long for the monitor's reconcile or another command


@dataclass
class UpResult:
    name: str
    action: str  # "started", "reused", "restarted"
    seconds: float
    health: Health


@dataclass
class Status:
    name: str
    state: str  # running, degraded, stopped, not started
    pids: list[int]
    port: int
    uptime: float | None
    health: Health
    rss: int
    kind: str = "infra"  # infra, task or service

    @property
    def healthy(self) -> bool:
        return self.state in ("running", "done") and self.health.ok

    @property
    def counts(self) -> bool:
        """Whether this row decides `status`'s exit code (not started or skipped rows do not)."""
        return self.state not in ("not started", "skipped")


class Sandbox:
    def __init__(self, settings: Settings | None = None):
        self.settings = settings or default_settings()
        self.state = StateDir(self.settings.state_dir)
        self.owner = str(self.state.root.resolve())

    def component(self, name: str) -> Component:
        return components.load(name, self.settings.runtime)(self.settings, self.state)

    def names(self, only: str | None = None) -> list[str]:
        return components.select(only, self.settings.runtime)

    # ---------------------------------------------------------------- up
    def up(self, only: str | None = None, progress: Progress = lambda name, phase: None) -> list[UpResult]:
        chosen = [self.component(n) for n in self.names(only)]
        with self.state.lock(wait=LOCK_WAIT):
            for comp in chosen:
                comp.check_prerequisites()
            self._check_ports(chosen)
            results, errors = self._start_all(chosen, progress)
            if results:
                self._ensure_monitor()
            if errors:
                raise SandboxError("; ".join(errors))
        return results

    def _needs(self, comp: Component, chosen: list[Component]) -> set[str]:
        names = {c.name for c in chosen}
        if comp.needs is not None:
            return set(comp.needs) & names
        return {c.name for c in chosen if self._tier(c) < self._tier(comp) and c.needed_by_later_tiers}

    def _start_all(self, chosen: list[Component], progress: Progress) -> tuple[list[UpResult], list[str]]:
        """Start each component once its needs are up, in parallel; after a failure nothing new starts."""
        needs = {c.name: self._needs(c, chosen) for c in chosen}
        pending = {c.name: c for c in chosen}
        running: dict = {}
        done: set[str] = set()
        results, errors = [], []
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            while pending or running:
                if not errors:
                    for name in [n for n in pending if needs[n] <= done]:
                        running[pool.submit(self._up_one, pending.pop(name), progress, roll_out=True)] = name
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    name = running.pop(future)
                    try:
                        results.append(future.result())
                        done.add(name)
                    except SandboxError as exc:
                        progress(name, "failed")
                        errors.append(str(exc))
        order = [c.name for c in chosen]
        return sorted(results, key=lambda r: order.index(r.name)), errors

    def restart_crashed_services(self) -> list[str]:
        """Restart services whose process died (a Deployment's restart policy); infra is left
        dead on purpose until `up`, so faults stay visible. Skips the round while `up`/`down` run."""
        crashed = []
        for name in self.names():
            comp = self.component(name)
            record = self.state.load(name)
            if getattr(comp, "restart_on_crash", False) and record and not all(
                    process.is_running(p) for p in record.processes):
                crashed.append(comp)
        if not crashed:
            return []
        try:
            with self.state.lock():
                for comp in crashed:
                    self._up_one(comp, lambda name, phase: None)
        except SandboxError:
            return []
        return [c.name for c in crashed]

    def scale(self, name: str, replicas: int) -> bool:
        """Set a service's replica count and reconcile its processes; False if `up`/`down` runs."""
        comp = self.component(name)
        try:
            with self.state.lock():
                comp.set_replicas(replicas)
                self._up_one(comp, lambda n, phase: None)
        except SandboxError:
            return False
        return True

    def _tier(self, comp: Component) -> int:
        return components.tier(comp.name, self.settings.runtime)

    def _ensure_monitor(self) -> None:
        record = self.state.load(monitor.NAME)
        if record and all(process.is_running(p) for p in record.processes):
            return
        proc = process.spawn(monitor.NAME, [sys.executable, "-m", "sandbox.monitor"],
                             self.state.log_file(monitor.NAME), self.owner, monitor.NAME)
        self.state.save(ComponentRecord(monitor.NAME, 0, time.time(), [proc]))

    def _check_ports(self, chosen: list[Component]) -> None:
        """Fail before starting anything if a port is held by something that is not ours."""
        for comp in chosen:
            if _is_container(comp):
                if not comp.running():
                    comp.preflight()  # engine, image, ports: one line with the fix
                continue
            if self._live_record(comp):
                continue
            orphans = process.owned_processes(self.owner, comp.name)
            if orphans:  # our own processes whose record was lost (CLI killed mid-spawn)
                process.kill_processes(orphans)
            for port_name, port in comp.ports.items():
                if process.port_in_use(port):
                    raise SandboxError(
                        f"port {port} for {comp.name} is already in use",
                        f"stop what listens there or change {self.settings.port_setting(port_name)}",
                    )

    def _live_record(self, comp: Component) -> ComponentRecord | None:
        record = self.state.load(comp.name)
        if record and any(process.is_running(p) for p in record.processes):
            return record
        return None

    def _up_one(self, comp: Component, progress: Progress, roll_out: bool = False) -> UpResult:
        """Start, heal or reuse one component; ``roll_out`` (only `up`, never the monitor's restarts
        or HPA scaling) also replaces processes started from an older revision."""
        if _is_container(comp):
            return self._up_container(comp, progress)
        if not comp.processes():
            return self._run_task(comp, progress)
        started = time.monotonic()
        record = self.state.load(comp.name)
        had_record = record is not None
        if record:
            progress(comp.name, "checking")
            alive = [p for p in record.processes if process.is_running(p)]
            expected = {s.role for s in comp.processes()} if alive else set()
            for extra in [p for p in alive if p.role not in expected]:  # scaled down
                comp.before_stop(extra.role)
                process.stop_group(extra.pid, sig=comp.stop_signal)
                alive.remove(extra)
                record.processes.remove(extra)
                self.state.save(record)
            if alive and {p.role for p in alive} == expected:
                revision = comp.revision() if roll_out else None
                stale = [p for p in alive if revision is not None and p.revision != revision]
                if stale:
                    return self._roll_out(comp, record, stale, revision, progress)
                health = self._health(comp, record)
                if not health.ok:  # maybe still starting after a killed `up`
                    health = wait_for(comp.health, timeout=min(20.0, self.settings.start_timeout),
                                      not_yet=comp.probe_errors())
                if health.ok:
                    progress(comp.name, "reused")
                    return UpResult(comp.name, "reused", time.monotonic() - started, health)
                self._stop_record(comp, record)
                record = None
            else:
                record.processes = alive
                if not alive:
                    record.started_at = time.time()
        progress(comp.name, "installing")
        comp.install()
        progress(comp.name, "preparing")
        comp.prepare()
        specs = comp.processes()
        if record is None:
            record = ComponentRecord(comp.name, comp.port, time.time(), [])
        running_roles = {p.role for p in record.processes}
        progress(comp.name, "starting")
        revision = comp.revision()
        for spec in specs:
            if spec.role not in running_roles:
                self._spawn(comp, spec, record, revision)
        progress(comp.name, "waiting for health")
        health = wait_for(lambda: self._health_if_running(comp, record), timeout=self.settings.start_timeout,
                          not_yet=comp.probe_errors())
        if not health.ok:
            self._stop_record(comp, record)
            raise SandboxError(
                f"{comp.name} did not become healthy in {self.settings.start_timeout:.0f}s: {health.detail}\n"
                f"--- last lines of {comp.log_file} ---\n{tail(comp.log_file)}",
                f"see `sandbox logs {comp.name}`",
            )
        progress(comp.name, "configuring")
        comp.after_start()
        if comp.health_after_setup:
            health = wait_for(comp.health, timeout=self.settings.start_timeout, not_yet=comp.probe_errors())
            if not health.ok:
                raise SandboxError(f"{comp.name} is not healthy after set-up: {health.detail}",
                                   f"see `sandbox logs {comp.name}`")
        progress(comp.name, "healthy")
        return UpResult(comp.name, "restarted" if had_record else "started", time.monotonic() - started, health)

    def _spawn(self, comp: Component, spec, record: ComponentRecord, revision: str | None) -> ProcessRecord:
        proc = process.spawn(spec.role, spec.command, comp.log_file, self.owner, comp.name,
                             env=spec.env, cwd=spec.cwd, user=spec.user)
        proc.revision = revision
        record.processes.append(proc)
        self.state.save(record)
        return proc

    def _roll_out(self, comp: Component, record: ComponentRecord, stale: list[ProcessRecord],
                  revision: str, progress: Progress) -> UpResult:
        """Replace processes started from older code/config one at a time, each healthy before the
        next goes (a Deployment's rolling update: the gateway always has a ready replica).
        On failure the remaining old processes keep serving and the error shows the new one's log."""
        started = time.monotonic()
        progress(comp.name, "rolling out")
        comp.prepare()  # the new revision's migrations first, as its pods' initContainers
        specs = {s.role: s for s in comp.processes()}
        for old in stale:
            comp.before_stop(old.role)
            process.stop_group(old.pid, sig=comp.stop_signal)
            record.processes.remove(old)
            new = self._spawn(comp, specs[old.role], record, revision)
            health = wait_for(lambda new=new: self._process_health(comp, new), timeout=self.settings.start_timeout,
                              not_yet=comp.probe_errors())
            if not health.ok:
                process.stop_group(new.pid, sig=comp.stop_signal)
                record.processes.remove(new)
                self.state.save(record)
                raise SandboxError(
                    f"{comp.name}: rollout stopped, {new.role} of the new revision did not become healthy "
                    f"in {self.settings.start_timeout:.0f}s: {health.detail}; {len(record.processes)} "
                    f"process(es) of the previous revision still serve\n"
                    f"--- last lines of {comp.log_file} ---\n{tail(comp.log_file)}",
                    f"fix it (see `sandbox logs {comp.name}`) and run `sandbox up` again",
                )
            comp.after_start()
        progress(comp.name, "healthy")
        return UpResult(comp.name, "rolled out", time.monotonic() - started, comp.health())

    @staticmethod
    def _process_health(comp: Component, proc: ProcessRecord) -> Health:
        if not process.is_running(proc):
            raise ProcessExited(f"{proc.role} exited")
        return comp.process_health(proc.role)

    def _up_container(self, comp: Component, progress: Progress) -> UpResult:
        """The docker runtime: the component's containers instead of processes."""
        started = time.monotonic()
        if comp.running():
            progress(comp.name, "checking")
            health = _quick_health(comp)
            if health.ok:
                progress(comp.name, "reused")
                return UpResult(comp.name, "reused", time.monotonic() - started, health)
            comp.stop()
        progress(comp.name, "installing")
        comp.install()
        comp.prepare()
        progress(comp.name, "starting")
        comp.start()
        progress(comp.name, "waiting for health")
        health = comp.wait_healthy(self.settings.start_timeout)  # removes the containers on failure
        progress(comp.name, "healthy")
        return UpResult(comp.name, "started", time.monotonic() - started, health)

    def _run_task(self, comp: Component, progress: Progress) -> UpResult:
        """A one-shot task (Terraform apply, job submission): done again only when its check fails."""
        started = time.monotonic()
        progress(comp.name, "checking")
        health = _quick_health(comp)
        if health.ok:
            progress(comp.name, "reused")
            return UpResult(comp.name, "reused", time.monotonic() - started, health)
        progress(comp.name, "running")
        comp.install()
        comp.prepare()
        comp.after_start()
        health = _quick_health(comp)
        progress(comp.name, "healthy" if health.ok else "failed")
        if not health.ok and not health.skipped:
            raise SandboxError(f"{comp.name} failed: {health.detail}", f"see `sandbox logs {comp.name}`")
        return UpResult(comp.name, "applied" if health.ok else "skipped", time.monotonic() - started, health)

    @staticmethod
    def _health_if_running(comp: Component, record: ComponentRecord) -> Health:
        dead = [p.role for p in record.processes if not process.is_running(p)]
        if dead:
            raise ProcessExited(f"{', '.join(dead)} exited")
        return Health(True, "processes started") if comp.health_after_setup else comp.health()

    # ---------------------------------------------------------------- down
    def down(self, only: str | None = None, wipe: bool = False) -> list[str]:
        chosen = [self.component(n) for n in self.names(only)]
        with self.state.lock(wait=LOCK_WAIT):
            # all at once: every process gets its stop signal (SIGKILL after 4 s) in parallel,
            # and nothing is lost by stopping a service after the broker or database
            with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
                stopped = [c.name for c, running in zip(chosen, pool.map(self._down_one, chosen), strict=True) if running]
            if not only:
                if self.settings.runtime == "docker":
                    from sandbox.components.docker.base import cleanup

                    cleanup(self.owner)  # every container, network and volume with our label
                process.kill_processes(process.owned_processes(self.owner))
                self.state.remove(monitor.NAME)
                if wipe:
                    self.state.wipe()
        return stopped

    def _down_one(self, comp: Component) -> bool:
        if _is_container(comp):
            return comp.stop()
        record = self.state.load(comp.name)
        was_running = bool(record and any(process.is_running(p) for p in record.processes))
        if record:
            self._stop_record(comp, record)
        process.kill_processes(process.owned_processes(self.owner, comp.name))
        return was_running

    def _stop_record(self, comp: Component, record: ComponentRecord) -> None:
        process.stop_groups([p.pid for p in record.processes if process.is_running(p)], sig=comp.stop_signal)
        self.state.remove(comp.name)

    # ---------------------------------------------------------------- status / env
    def status(self) -> list[Status]:
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(self._status_one, [self.component(n) for n in self.names()]))

    def _status_one(self, comp: Component) -> Status:
        status = self._status_of(comp)
        status.kind = ("infra", "task", "app", "service")[self._tier(comp)]
        return status

    def _status_of(self, comp: Component) -> Status:
        if _is_container(comp):
            state = comp.container_state()
            if state != "running":
                detail = "no container" if state == "not started" else "a container exited"
                return Status(comp.name, state, [], comp.port, None, Health(False, detail), comp.rss())
            health = _quick_health(comp)
            ids = ",".join(c[:12] for c in comp.container_ids())
            return Status(comp.name, "running", [], comp.port, None, Health(health.ok, f"{health.detail} [{ids}]"),
                          comp.rss())
        if not comp.processes():
            health = _quick_health(comp)
            state = "done" if health.ok else ("skipped" if health.skipped else "not done")
            return Status(comp.name, state, [], comp.port, None, health, 0)
        record = self.state.load(comp.name)
        if not record:
            return Status(comp.name, "not started", [], comp.port, None, Health(False, "not started"), 0)
        alive = [p for p in record.processes if process.is_running(p)]
        pids = [p.pid for p in record.processes]
        if not alive:
            return Status(comp.name, "stopped", pids, comp.port, None, Health(False, "process exited"), 0)
        dead = [p.role for p in record.processes if p not in alive]
        health = self._health(comp, record)
        if dead:
            health = Health(False, f"{', '.join(dead)} exited; {health.detail}")
        return Status(
            comp.name, "degraded" if dead else "running", pids, comp.port,
            time.time() - record.started_at, health, sum(process.group_rss(p.pid) for p in alive),
        )

    def _health(self, comp: Component, record: ComponentRecord) -> Health:
        """The monitor's recent real-client result when there is one, else a check right now."""
        if not comp.cached_health:
            return _quick_health(comp)
        newest_start = max(p.create_time for p in record.processes)
        return monitor.read_cached(self.state, comp.name, newest_start) or _quick_health(comp)

    def env(self) -> dict[str, str]:
        merged: dict[str, str] = {}
        for name in self.names():
            merged.update(self.component(name).env())
        return merged


def _is_container(comp: Component) -> bool:
    return getattr(comp, "is_container", False)


def _quick_health(comp: Component) -> Health:
    try:
        return comp.health()
    except Exception as exc:
        return Health(False, f"{type(exc).__name__}: {exc}"[:200])
