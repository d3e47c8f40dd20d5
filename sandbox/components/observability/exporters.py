"""Exporters for what has no Prometheus endpoint of its own: Postgres (postgres_exporter), and the
Pushgateway Flink pushes to. The broker's metrics come from the JMX exporter agent inside its JVM
(sandbox/components/kafka.py); the consumer groups' lag from the consumers themselves, since the
module proxy here serves no version of kafka_exporter."""

from __future__ import annotations

from sandbox.components.base import ProcessSpec
from sandbox.components.observability.base import ObservabilityPart
from sandbox.health import Health


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


class PostgresExporter(ObservabilityPart):
    name = "postgres-exporter"
    port_name = "postgres_exporter"
    binaries = ("postgres_exporter",)
    needs = ("postgres",)

    def processes(self) -> list[ProcessSpec]:
        pg, ports = self.settings.postgres, self.settings.ports
        dsn = f"postgresql://{pg.user}:{pg.password}@127.0.0.1:{ports.postgres}/{pg.database}?sslmode=disable"
        return [ProcessSpec("exporter", [self.binary(), f"--web.listen-address=127.0.0.1:{self.port}",
                                         "--log.format=json"], env={"DATA_SOURCE_NAME": dsn})]

    def health(self) -> Health:
        import requests

        up = _metric(requests.get(f"{self.url}/metrics", timeout=3).text, "pg_up")
        return Health(up == 1, f"pg_up {up}")


class Pushgateway(ObservabilityPart):
    """Where Flink's JVMs push their metrics (sandbox/components/flink.py says why), scraped with
    the pushed job and instance labels kept."""

    name = "pushgateway"
    port_name = "pushgateway"
    binaries = ("pushgateway",)
    honor_labels = True

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("server", [self.binary(), f"--web.listen-address=127.0.0.1:{self.port}",
                                       "--log.format=json"])]

    def health(self) -> Health:
        import requests

        # only /-/ready: /api/v1/metrics is every pushed series as JSON, too much for every round
        ready = requests.get(f"{self.url}/-/ready", timeout=2)
        return Health(ready.ok, "ready" if ready.ok else f"/-/ready {ready.status_code}")
