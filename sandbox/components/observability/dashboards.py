"""Perses (CNCF dashboards) showing the dashboards of gitops/monitoring/dashboards, the same files
the cloud's Perses loads: provisioned at start from files, never clicked together. Its database is
files under the state dir; its plugins (the Prometheus datasource and the panels) sit beside its
binary in the per-user cache."""

from __future__ import annotations

import json
import shutil

from sandbox.components.base import ProcessSpec
from sandbox.components.observability.base import ObservabilityPart
from sandbox.health import Health
from sandbox.paths import PROJECT_ROOT

DASHBOARDS = PROJECT_ROOT / "gitops" / "monitoring" / "dashboards"
PROJECT = "ticketing"


class Perses(ObservabilityPart):
    name = "perses"
    port_name = "dashboards"
    binaries = ("perses",)
    metrics_path = "/metrics"

    @property
    def provisioning_dir(self):
        return self.conf_dir / "provisioning"

    def datasource(self) -> dict:
        prometheus = f"http://127.0.0.1:{self.settings.observability.ports.prometheus}"
        return {"kind": "GlobalDatasource", "metadata": {"name": "prometheus"},
                "spec": {"default": True, "plugin": {"kind": "PrometheusDatasource", "spec": {
                    "proxy": {"kind": "HTTPProxy", "spec": {"url": prometheus}}}}}}

    def config(self) -> dict:
        from pathlib import Path

        plugins = Path(self.binary()).parent / "plugins"
        return {
            "security": {"readonly": False, "enable_auth": False, "cookie": {"secure": False}},
            "database": {"file": {"folder": str(self.data_dir), "extension": "json"}},
            "provisioning": {"folders": [str(self.provisioning_dir)], "interval": "1m"},
            "plugin": {"path": str(plugins), "archive_path": str(plugins)},
        }

    def prepare(self) -> None:
        super().prepare()
        if self.provisioning_dir.exists():
            shutil.rmtree(self.provisioning_dir)  # a dashboard deleted from gitops/ goes too
        self.provisioning_dir.mkdir()
        (self.provisioning_dir / "project.json").write_text(json.dumps(
            {"kind": "Project", "metadata": {"name": PROJECT}, "spec": {"display": {"name": "Ticketing"}}}))
        (self.provisioning_dir / "datasource.json").write_text(json.dumps(self.datasource()))
        for dashboard in sorted(DASHBOARDS.glob("*.yaml")):
            shutil.copy(dashboard, self.provisioning_dir / dashboard.name)
        (self.conf_dir / "config.yaml").write_text(json.dumps(self.config(), indent=1))  # JSON is YAML

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("server", [self.binary(), f"--config={self.conf_dir / 'config.yaml'}",
                                       f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warning"])]

    def health(self) -> Health:
        import requests

        dashboards = requests.get(f"{self.url}/api/v1/projects/{PROJECT}/dashboards", timeout=3)
        if not dashboards.ok:
            return Health(False, f"dashboards API {dashboards.status_code}")
        return Health(True, f"{len(dashboards.json())} dashboard(s) in project {PROJECT}")

    def env(self) -> dict[str, str]:
        return {"DASHBOARDS_URL": self.url}
