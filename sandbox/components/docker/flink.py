"""A Flink session cluster as two containers: `flink-jobmanager` and `flink-taskmanager`, from the
official flink image or the stand-in built from PyFlink's distribution (same entrypoint contract:
`jobmanager`/`taskmanager`, FLINK_PROPERTIES). Health: the native REST `/overview` check.

Checkpoints and savepoints go to a named volume (`<network>-flink-data`, owner-labelled) mounted
at /opt/flink/data in both containers: the job's retained checkpoints need a directory both see,
and the volume outlives a Flink restart (the analytics job resumes from it); `down` removes it."""

from __future__ import annotations

from sandbox.components import flink as native
from sandbox.components.docker.base import ContainerComponent, ContainerSpec

REST_PORT = 8081
RPC_PORT = 6123
DATA_DIR = "/opt/flink/data"


class Flink(ContainerComponent, native.Flink):
    image_key = "flink"

    def check_prerequisites(self) -> None:
        """No host java needed."""

    def install(self) -> None:
        """The connector jar is shipped with each job from the host cache (FLINK_CONNECTOR_JARS)."""

    def prepare(self) -> None:
        """Configuration is FLINK_PROPERTIES."""

    def _properties(self) -> str:
        f = self.settings.flink
        return "\n".join([
            "jobmanager.rpc.address: flink-jobmanager",
            f"jobmanager.rpc.port: {RPC_PORT}",
            f"rest.port: {REST_PORT}",
            f"jobmanager.memory.process.size: {f.jobmanager_memory}",
            f"taskmanager.memory.process.size: {f.taskmanager_memory}",
            f"taskmanager.numberOfTaskSlots: {f.task_slots}",
            "parallelism.default: 1",
            "heartbeat.timeout: 20000",
            "resourcemanager.taskmanager-timeout: 10000",
            f"state.checkpoints.dir: file://{DATA_DIR}/checkpoints",
            f"state.savepoints.dir: file://{DATA_DIR}/savepoints",
        ])

    @property
    def volume(self) -> str:
        return f"{self.network}-flink-data"

    def on_create(self) -> None:
        from sandbox.components.docker.base import OWNER_LABEL, client

        if not any(v.name == self.volume for v in client().volumes.list(filters={"name": self.volume})):
            client().volumes.create(self.volume, labels={OWNER_LABEL: self.owner})

    def container_specs(self) -> list[ContainerSpec]:
        env = {"FLINK_PROPERTIES": self._properties()}
        data = {self.volume: {"bind": DATA_DIR, "mode": "rw"}}
        return [
            ContainerSpec("flink-jobmanager", self.image, ["jobmanager"], env,
                          ports={REST_PORT: self.port, RPC_PORT: self.settings.ports.flink_rpc}, volumes=data),
            ContainerSpec("flink-taskmanager", self.image, ["taskmanager"], env, volumes=data),
        ]

    def log_files(self):
        return []

    def network_env(self) -> dict[str, str]:
        return {**self.env(), "FLINK_REST_URL": f"http://flink-jobmanager:{REST_PORT}"}
