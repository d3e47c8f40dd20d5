"""The sandbox on the docker runtime (`sandbox up --runtime docker`) as a scenario target: the same
CLI as the `sandbox` target with SANDBOX_RUNTIME=docker, so a private instance is again only
SANDBOX_STATE_DIR and SANDBOX_PORTS__* overrides. Faults: `kill` is `docker kill` of the
component's containers, by role order (there are no host pids; the containers' main pids are
returned); `heal` is `sandbox up`, which starts the killed containers again (their data kept)."""

from __future__ import annotations

import os

from scenarios.targets.base import UnsupportedFault
from scenarios.targets.sandbox import SandboxTarget


class DockerTarget(SandboxTarget):
    name = "docker"

    def __init__(self) -> None:
        super().__init__()
        os.environ["SANDBOX_RUNTIME"] = "docker"  # read by every `sandbox` command the target runs

    def kill(self, component: str, index: int | None = 0) -> list[int]:
        import docker

        from sandbox.settings import load_settings

        engine = docker.from_env()
        owner = str(load_settings().state_dir.resolve())  # the label every container of this sandbox has
        found = sorted(engine.containers.list(filters={"label": [f"sandbox.owner={owner}", f"sandbox.component={component}"]}),
                       key=lambda c: c.labels.get("sandbox.role", ""))  # flink: jobmanager, taskmanager
        if not found:
            raise UnsupportedFault(f"docker: no running container for {component}")
        chosen = found if index is None else found[index:index + 1]
        pids = []
        for container in chosen:
            pids.append(container.attrs["State"]["Pid"])
            container.kill()
        return pids
