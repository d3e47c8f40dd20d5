"""What every observability component shares: its binary from the per-user cache, its ports
under [observability.ports], and that the rest of the sandbox never waits for it."""

from __future__ import annotations

from sandbox.components.base import Component, Kind, MetricsTarget
from sandbox.observability.tools import OBSERVABILITY_TOOLS


class ObservabilityPart(Component):
    kind = Kind.INFRA
    needs: tuple[str, ...] | None = ()  # starts at once, beside the infrastructure
    needed_by_later_tiers = False  # nothing waits for it
    binaries: tuple[str, ...] = ()  # built by scripts/install-observability-tools.sh
    metrics_path = "/metrics"  # its own metrics, scraped by Prometheus
    honor_labels = False

    @property
    def port(self) -> int:
        return getattr(self.settings.observability.ports, self.port_name)

    @property
    def ports(self) -> dict[str, int]:
        return {f"observability.ports.{self.port_name}": self.port}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def binary(self, name: str | None = None) -> str:
        return OBSERVABILITY_TOOLS.binary(self.settings.user_cache_dir, name or self.binaries[0])

    def install(self) -> None:
        missing = [b for b in self.binaries if b in OBSERVABILITY_TOOLS.missing(self.settings.user_cache_dir)]
        if missing:
            OBSERVABILITY_TOOLS.build(self.settings.user_cache_dir, missing,
                                      lambda line: print(f"  {self.name}: {line}", flush=True))

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.conf_dir.mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        return {}

    def metrics_targets(self) -> list[MetricsTarget]:
        return [MetricsTarget(f"127.0.0.1:{self.port}", self.metrics_path, honor_labels=self.honor_labels)]
