"""Kafka as a container: Redpanda's image (official) or the Apache Kafka stand-in, which accepts the
same `redpanda start` arguments. Two listeners: `internal` (kafka:9092, for containers) and
`external` (127.0.0.1:<ports.kafka>, for the host)."""

from __future__ import annotations

from sandbox.components import kafka as native
from sandbox.components.docker.base import ContainerComponent, ContainerSpec

INTERNAL_PORT = 9092
EXTERNAL_PORT = 19092


class Kafka(ContainerComponent, native.Kafka):
    image_key = "kafka"
    extra_port_names = ()  # the KRaft controller stays inside the container

    def check_prerequisites(self) -> None:
        """No host java needed."""

    def install(self) -> None:
        """Nothing to fetch: the image holds the broker."""

    def prepare(self) -> None:
        """Configuration is the container's command line."""

    def container_specs(self) -> list[ContainerSpec]:
        return [ContainerSpec(
            "kafka", self.image,
            command=["redpanda", "start", "--mode", "dev-container", "--smp", "1", "--overprovisioned",
                     "--kafka-addr", f"internal://0.0.0.0:{INTERNAL_PORT},external://0.0.0.0:{EXTERNAL_PORT}",
                     "--advertise-kafka-addr", f"internal://kafka:{INTERNAL_PORT},external://127.0.0.1:{self.port}"],
            env={"KAFKA_HEAP": self.settings.kafka.heap, "KAFKA_NUM_PARTITIONS": str(self.settings.kafka.partitions),
                 "KAFKA_AUTO_CREATE_TOPICS": "false"},
            ports={EXTERNAL_PORT: self.port},
        )]

    def network_env(self) -> dict[str, str]:
        return {"KAFKA_BROKERS": f"kafka:{INTERNAL_PORT}"}
