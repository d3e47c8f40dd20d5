"""The native runtime: a component's `processes()` as supervised host processes.

A process record per component (sandbox/state.py) says what runs, so a killed CLI loses nothing:
live, healthy processes are reused; dead ones are restarted; processes started from an older
revision (`Component.revision`) are replaced one at a time, each healthy before the next goes.
"""

from __future__ import annotations

import time
from functools import partial

from sandbox import health_cache, process
from sandbox.components.base import Component, tail
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.poll import ProcessExited, wait_for
from sandbox.runtimes import Progress, Runtime, Status, UpResult, quick
from sandbox.state import ComponentRecord, ProcessRecord


class NativeRuntime(Runtime):
    name = "native"

    def preflight(self, comp: Component) -> None:
        """Fail before starting anything if a port is held by something that is not ours."""
        if self._live_record(comp):
            return
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

    def crashed(self, comp: Component) -> bool:
        record = self.state.load(comp.name)
        return record is not None and not all(process.is_running(p) for p in record.processes)

    # ---------------------------------------------------------------- up
    def up(self, comp: Component, progress: Progress, roll_out: bool = False) -> UpResult:
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
                    probe = comp.probe()
                    health = wait_for(probe, timeout=min(20.0, self.settings.start_timeout), not_yet=probe.not_yet)
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
        probe = comp.probe()
        health = wait_for(lambda: self._health_if_running(comp, record), timeout=self.settings.start_timeout,
                          not_yet=probe.not_yet)
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
            health = wait_for(probe, timeout=self.settings.start_timeout, not_yet=probe.not_yet)
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
                  revision: str | None, progress: Progress) -> UpResult:
        """Replace processes started from older code/config one at a time, each healthy before the
        next goes (a Deployment's rolling update: the gateway always has a ready replica).
        On failure the remaining old processes keep serving and the error shows the new one's log."""
        started = time.monotonic()
        progress(comp.name, "rolling out")
        comp.prepare()  # the new revision's migrations first, as its pods' initContainers
        specs = {s.role: s for s in comp.processes()}
        not_yet = comp.probe().not_yet
        for old in stale:
            comp.before_stop(old.role)
            process.stop_group(old.pid, sig=comp.stop_signal)
            record.processes.remove(old)
            new = self._spawn(comp, specs[old.role], record, revision)
            health = wait_for(partial(self._process_health, comp, new), timeout=self.settings.start_timeout,
                              not_yet=not_yet)
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

    @staticmethod
    def _health_if_running(comp: Component, record: ComponentRecord) -> Health:
        dead = [p.role for p in record.processes if not process.is_running(p)]
        if dead:
            raise ProcessExited(f"{', '.join(dead)} exited")
        return Health(True, "processes started") if comp.health_after_setup else comp.probe()()

    # ---------------------------------------------------------------- down
    def down(self, comp: Component) -> bool:
        record = self.state.load(comp.name)
        was_running = bool(record and any(process.is_running(p) for p in record.processes))
        if record:
            self._stop_record(comp, record)
        process.kill_processes(process.owned_processes(self.owner, comp.name))
        return was_running

    def _stop_record(self, comp: Component, record: ComponentRecord) -> None:
        process.stop_groups([p.pid for p in record.processes if process.is_running(p)], sig=comp.stop_signal)
        self.state.remove(comp.name)

    # ---------------------------------------------------------------- status
    def status(self, comp: Component) -> Status:
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
            return quick(comp.probe())
        newest_start = max(p.create_time for p in record.processes)
        return health_cache.read_cached(self.state, comp.name, newest_start) or quick(comp.probe())
