"""Prometheus 3 (with its web UI), scraping every component's metrics from one file_sd file
(sandbox/observability/scrape.py); its TSDB under the state dir, so history survives `down`/`up`."""

from __future__ import annotations

import json

from sandbox.components.base import ProcessSpec
from sandbox.components.observability.base import ObservabilityPart
from sandbox.health import Health
from sandbox.observability import scrape


class Prometheus(ObservabilityPart):
    name = "prometheus"
    port_name = "prometheus"
    binaries = ("prometheus",)

    def config(self) -> dict:
        interval = f"{self.settings.observability.scrape_interval_seconds}s"
        return {
            "global": {"scrape_interval": interval, "evaluation_interval": interval,
                       "external_labels": {"sandbox": "local"}},
            "scrape_configs": [{
                "job_name": job,
                "honor_labels": job == "pushed",
                "scrape_timeout": "5s" if self.settings.observability.scrape_interval_seconds > 5 else interval,
                "file_sd_configs": [{"files": [str(self.conf_dir / file)], "refresh_interval": "1m"}],
            } for job, file in scrape.TARGET_FILES.items()],
        }

    def prepare(self) -> None:
        super().prepare()
        # Prometheus reads YAML, and JSON is YAML: no YAML writer needed
        (self.conf_dir / "prometheus.yml").write_text(json.dumps(self.config(), indent=1))
        scrape.write_targets(self.conf_dir, scrape.registered_components(self.settings, self.state),
                             self.settings.observability.ports.hpa)

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("server", [
            self.binary(), f"--config.file={self.conf_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.data_dir}", f"--storage.tsdb.retention.time={self.settings.observability.retention}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--log.format=json",
        ])]

    def health(self) -> Health:
        import requests

        ready = requests.get(f"{self.url}/-/ready", timeout=2)
        if not ready.ok:
            return Health(False, f"/-/ready {ready.status_code}")
        targets = requests.get(f"{self.url}/api/v1/targets", params={"state": "active"}, timeout=2).json()
        active = targets["data"]["activeTargets"]
        up = sum(1 for t in active if t["health"] == "up")
        return Health(True, f"{up}/{len(active)} targets up")

    def env(self) -> dict[str, str]:
        return {"PROMETHEUS_URL": self.url}
