"""Perses (CNCF dashboards) showing gitops/monitoring/dashboards, the same files the cloud's Perses
loads: provisioned from files at start, never clicked together. Its configuration and its project's
datasource are the templates of gitops/monitoring/perses/ with this instance's folders and
Prometheus filled in; its database is files under the state dir; its plugins (the Prometheus
datasource and the time-series panel) sit beside its binary in the per-user cache."""

from __future__ import annotations

import functools
from pathlib import Path
from string import Template

from sandbox.components.base import ProcessSpec
from sandbox.components.observability.base import ObservabilityPart
from sandbox.health import Health
from sandbox.paths import PROJECT_ROOT

PERSES = PROJECT_ROOT / "gitops" / "monitoring" / "perses"
DASHBOARDS = PROJECT_ROOT / "gitops" / "monitoring" / "dashboards"
PROJECT = "ticketing"


def dashboard_names() -> list[str]:
    """The dashboards of gitops/monitoring/dashboards, by metadata.name; parsed again only when a
    file changed (the monitor asks every round)."""
    files = tuple((path, path.stat().st_mtime_ns) for path in sorted(DASHBOARDS.glob("*.yaml")))
    return _names(files)


@functools.lru_cache(maxsize=4)
def _names(files: tuple[tuple[Path, int], ...]) -> list[str]:
    import yaml

    return sorted(yaml.safe_load(path.read_text())["metadata"]["name"] for path, _ in files)


class Perses(ObservabilityPart):
    name = "perses"
    port_name = "dashboards"
    binaries = ("perses", "plugins")
    metrics_path = "/metrics"

    @property
    def provisioning_dir(self) -> Path:
        return self.conf_dir / "provisioning"

    def render(self, template: Path, values: dict[str, str]) -> str:
        return Template(template.read_text()).substitute(values)  # a placeholder left unfilled fails here

    def prepare(self) -> None:
        super().prepare()
        plugins = Path(self.binary("plugins"))
        archive = plugins.parent / "plugins-archive"  # empty: Perses loads no plugin without it
        archive.mkdir(exist_ok=True)
        self.provisioning_dir.mkdir(exist_ok=True)
        (self.provisioning_dir / "ticketing.yaml").write_text(self.render(
            PERSES / "provisioning" / "ticketing.yaml",
            {"PROMETHEUS_URL": f"http://127.0.0.1:{self.settings.observability.ports.prometheus}"}))
        (self.conf_dir / "config.yaml").write_text(self.render(PERSES / "config.yaml", {
            "PERSES_DATA_DIR": str(self.data_dir), "PERSES_PROVISIONING_DIR": str(self.provisioning_dir),
            "PERSES_DASHBOARDS_DIR": str(DASHBOARDS), "PERSES_PLUGINS_DIR": str(plugins),
            "PERSES_PLUGINS_ARCHIVE_DIR": str(archive)}))

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("server", [self.binary(), f"--config={self.conf_dir / 'config.yaml'}",
                                       f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warning"])]

    def health(self) -> Health:
        """Healthy once every dashboard of gitops/ is provisioned (the first pass runs at start)."""
        import requests

        response = requests.get(f"{self.url}/api/v1/projects/{PROJECT}/dashboards", timeout=3)
        if not response.ok:
            return Health(False, f"dashboards API {response.status_code}")
        served = {d["metadata"]["name"] for d in response.json() or []}  # `null` before the first pass
        missing = [name for name in dashboard_names() if name not in served]
        if missing:
            return Health(False, f"not provisioned yet: {', '.join(missing)}")
        return Health(True, f"{len(served)} dashboard(s) in project {PROJECT}")

    def env(self) -> dict[str, str]:
        return {"DASHBOARDS_URL": self.url}
