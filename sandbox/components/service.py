"""A ticket-booking service run as a supervised process from its own folder under services/.

It gets the whole `sandbox env` (endpoints, Terraform outputs, other services' URLs) plus PORT,
exactly what the Kubernetes ConfigMaps give it in a cluster. Health is its `/ready` endpoint.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.components.base import Component, Health, ProcessSpec
from sandbox.errors import SandboxError
from sandbox.settings import PROJECT_ROOT

SERVICES_DIR = PROJECT_ROOT / "services"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: tuple[str, ...]  # run with cwd services/<name>
    port_name: str  # key of Settings.ports
    url_env: str | None = None  # e.g. BOOKING_SERVICE_URL
    migrate: tuple[str, ...] | None = None  # an idempotent schema step, run before start
    extra_env: dict[str, str] = field(default_factory=dict)


class Service(Component):
    restart_on_crash = True
    depends_on = ("aws", "kafka", "postgres")

    def __init__(self, spec: ServiceSpec, settings, state):
        super().__init__(settings, state)
        self.spec = spec
        self.name = spec.name
        self.port_name = spec.port_name

    @property
    def folder(self) -> Path:
        return SERVICES_DIR / self.spec.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _env(self) -> dict[str, str]:
        from sandbox.orchestrator import Sandbox

        env = Sandbox(self.settings).env()
        pythonpath = [str(self.folder), str(SERVICES_DIR / "common")]
        return {**env, **self.spec.extra_env, "PORT": str(self.port), "HOST": "127.0.0.1",
                "PYTHONPATH": ":".join(pythonpath), "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)}

    @property
    def metrics_dir(self) -> Path:
        """prometheus-client's multiprocess files, so /metrics adds up every gunicorn worker."""
        return self.data_dir / "prometheus"

    def prepare(self) -> None:
        import shutil

        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)
        if not self.spec.migrate:
            return
        result = subprocess.run([*_python(self.spec.migrate)], cwd=self.folder, env=self._env(),
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SandboxError(f"{self.name} migration failed: {last[0][:300]}", f"see `sandbox logs {self.name}`")

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("web", list(_python(self.spec.command)), env=self._env(), cwd=self.folder)]

    def health(self) -> Health:
        import requests

        response = requests.get(f"{self.url}/ready", timeout=2)
        return Health(response.ok, f"/ready {response.status_code}")

    def env(self) -> dict[str, str]:
        return {self.spec.url_env: self.url} if self.spec.url_env else {}


def _python(command: tuple[str, ...]) -> list[str]:
    """Commands name venv tools (`gunicorn`, `python`); run them from this interpreter's venv."""
    bin_dir = Path(sys.executable).parent
    head, *rest = command
    if head == "python":
        return [sys.executable, *rest]
    return [str(bin_dir / head), *rest]
