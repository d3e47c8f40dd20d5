"""The docker runtime: a component's `container_specs()` as containers on the sandbox network.

The engine work (create on the owner's network, label, restart exited, remove) is the container
component's own (sandbox/components/docker/base.py, so tests can drive one container set alone);
this runtime decides when: reuse what is healthy, replace what is not, report state from labels.
"""

from __future__ import annotations

import time

from sandbox.components.docker.base import ContainerComponent, cleanup
from sandbox.health import Health
from sandbox.runtimes import Progress, Runtime, Status, UpResult, quick


class DockerRuntime(Runtime):
    name = "docker"

    def preflight(self, comp: ContainerComponent) -> None:
        if not comp.running():
            comp.preflight()  # engine, image, ports: one line with the fix

    def up(self, comp: ContainerComponent, progress: Progress, roll_out: bool = False) -> UpResult:
        started = time.monotonic()
        if comp.running():
            progress(comp.name, "checking")
            health = quick(comp.probe())
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

    def down(self, comp: ContainerComponent) -> bool:
        return comp.stop()

    def teardown(self) -> None:
        cleanup(self.owner)  # every container, network and volume with our label

    def status(self, comp: ContainerComponent) -> Status:
        state = comp.container_state()
        if state != "running":
            detail = "no container" if state == "not started" else "a container exited"
            return Status(comp.name, state, [], comp.port, None, Health(False, detail), comp.rss())
        health = quick(comp.probe())
        ids = ",".join(c[:12] for c in comp.container_ids())
        return Status(comp.name, "running", [], comp.port, None, Health(health.ok, f"{health.detail} [{ids}]"),
                      comp.rss())

    def logs(self, comp: ContainerComponent, lines: int):
        return comp.log_files(), comp.logs_text(lines)
