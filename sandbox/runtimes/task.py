"""The task runtime: a one-shot component (`Kind.TASK`, the Terraform apply) run in this process,
done again only when its check fails. The same in every runtime: the task reaches what it
drives through host ports."""

from __future__ import annotations

import time

from sandbox.components.base import Component
from sandbox.errors import SandboxError
from sandbox.runtimes import Progress, Runtime, Status, UpResult, quick


class TaskRuntime(Runtime):
    name = "task"

    def up(self, comp: Component, progress: Progress, roll_out: bool = False) -> UpResult:
        started = time.monotonic()
        progress(comp.name, "checking")
        health = quick(comp.probe())
        if health.ok:
            progress(comp.name, "reused")
            return UpResult(comp.name, "reused", time.monotonic() - started, health)
        progress(comp.name, "running")
        comp.install()
        comp.prepare()
        comp.after_start()
        health = quick(comp.probe())
        progress(comp.name, "healthy" if health.ok else "failed")
        if not health.ok and not health.skipped:
            raise SandboxError(f"{comp.name} failed: {health.detail}", f"see `sandbox logs {comp.name}`")
        return UpResult(comp.name, "applied" if health.ok else "skipped", time.monotonic() - started, health)

    def down(self, comp: Component) -> bool:
        return False  # nothing keeps running; its results (state, outputs) stay until --wipe

    def status(self, comp: Component) -> Status:
        health = quick(comp.probe())
        state = "done" if health.ok else ("skipped" if health.skipped else "not done")
        return Status(comp.name, state, [], comp.port, None, health, 0)
