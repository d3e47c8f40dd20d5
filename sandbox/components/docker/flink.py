"""A Flink session cluster as two containers: `flink-jobmanager` and `flink-taskmanager`, from the
official flink image or the stand-in built from PyFlink's distribution (same entrypoint contract:
`jobmanager`/`taskmanager`, FLINK_PROPERTIES). Health: the native REST `/overview` check."""

from __future__ import annotations

from sandbox.components import flink as native
from sandbox.components.docker.base import ContainerComponent, ContainerSpec

REST_PORT = 8081
RPC_PORT = 6123


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
        ])

    def container_specs(self) -> list[ContainerSpec]:
        env = {"FLINK_PROPERTIES": self._properties()}
        return [
            ContainerSpec("flink-jobmanager", self.image, ["jobmanager"], env,
                          ports={REST_PORT: self.port, RPC_PORT: self.settings.ports.flink_rpc}),
            ContainerSpec("flink-taskmanager", self.image, ["taskmanager"], env),
        ]

    def log_files(self):
        return []

    def network_env(self) -> dict[str, str]:
        return {**self.env(), "FLINK_REST_URL": f"http://flink-jobmanager:{REST_PORT}"}
