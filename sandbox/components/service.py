"""A Deployment of the GitOps `sandbox` overlay run as supervised processes: one process per
replica, each on a private port, behind the gateway (the Service) on the Deployment's port.

Each replica gets the env the overlay's ConfigMaps/Secrets give its pod, with every endpoint
replaced by the sandbox's own (`sandbox env`), plus PORT and HOST=127.0.0.1 — no service code
knows it runs in the sandbox. Migrations (the Deployment's initContainers) run before start.
The replica count is the Deployment's, or the HPA's current decision (see sandbox/hpa.py).
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

from sandbox.components.base import Component, Kind, MetricsTarget, ProcessSpec
from sandbox.components.gateway import Gateway
from sandbox.errors import SandboxError
from sandbox.health import Health, HttpProbe
from sandbox.manifests import Workload, service_port, url_names
from sandbox.settings import PROJECT_ROOT

SERVICES_DIR = PROJECT_ROOT / "services"
MAX_REPLICAS_PER_SERVICE = 20
# what a running replica does not load: editing these never triggers a rollout
# and every dot-folder (.pytest_cache, .ruff_cache) and *.egg-info (the editable install's metadata)
NOT_RUNTIME_DIRS = {"tests", "bench", "__pycache__"}
NOT_RUNTIME_SUFFIXES = {".pyc", ".md"}


class Service(Component):
    kind = Kind.SERVICE
    # Granian stops gracefully on INT (and kills a stuck worker after 2 s); the consumer treats
    # INT like TERM: it stops after committing its batch
    stop_signal = signal.SIGINT

    def __init__(self, workload: Workload, slot: int, settings, state, endpoints=None):
        super().__init__(settings, state, endpoints)
        self.workload = workload
        self.slot = slot  # index among the workloads: picks this service's block of replica ports
        self.name = workload.name
        self.port_name = workload.name.replace("-", "_")

    @property
    def folder(self) -> Path:
        return SERVICES_DIR / self.name

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return service_port(self.workload, self.settings.ports)

    @property
    def ports(self) -> dict[str, int]:
        """The ports this component's processes bind: its replicas' (the gateway holds `port`)."""
        return {f"replica_{i}": self.replica_port(i) for i in range(self.replicas())}

    def replica_port(self, index: int) -> int:
        return self.settings.ports.replica_base + MAX_REPLICAS_PER_SERVICE * self.slot + index

    # ------------------------------------------------------------ replicas (HPA decisions)
    @property
    def replicas_file(self) -> Path:
        return self.state.records_dir / "replicas.json"

    def replicas(self) -> int:
        try:
            wanted = json.loads(self.replicas_file.read_text()).get(self.name)
        except (FileNotFoundError, json.JSONDecodeError):
            wanted = None
        wanted = wanted or self.workload.min_replicas
        return max(self.workload.min_replicas, min(self.workload.max_replicas, wanted))

    def set_replicas(self, count: int) -> None:
        try:
            current = json.loads(self.replicas_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            current = {}
        current[self.name] = count
        self.replicas_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.replicas_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(current))
        tmp.replace(self.replicas_file)

    # ------------------------------------------------------------ component protocol
    def _pod_env(self) -> dict[str, str]:
        """The env every replica gets; `_env` adds what is the replica's own."""
        return {**self.workload.env, **self.endpoints.host, "HOST": "127.0.0.1"}  # packages: make venv

    def _env(self, port: int) -> dict[str, str]:
        return {**self._pod_env(), "PORT": str(port), "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir(port))}

    def pod_name(self, index: int) -> str:
        return f"{self.name}-{index}"

    def metrics_targets(self) -> list[MetricsTarget]:
        return [MetricsTarget(f"127.0.0.1:{self.replica_port(i)}", labels={"deployment": self.name, "pod": self.pod_name(i)})
                for i in range(self.replicas())]

    def metrics_dir(self, port: int) -> Path:
        """prometheus-client's multiprocess files, so /metrics adds up a replica's workers."""
        return self.data_dir / f"prometheus-{port}"

    def check_prerequisites(self) -> None:
        if not self.folder.is_dir():
            raise SandboxError(f"{self.name}: no folder {self.folder} for the Deployment in gitops/",
                               "add the service folder or remove the Deployment from gitops/base")

    def prepare(self) -> None:
        for index in range(self.replicas()):
            path = self.metrics_dir(self.replica_port(index))
            if not path.exists():
                path.mkdir(parents=True)
        for command in self.workload.init_commands:  # initContainers: schema migrations
            result = subprocess.run(_venv(command), cwd=self.folder, env=self._env(self.port),
                                    capture_output=True, text=True, timeout=120)
            with open(self.log_file, "a") as log:
                log.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
            if result.returncode != 0:
                last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
                raise SandboxError(f"{self.name} init {' '.join(command)} failed: {last[0][:300]}",
                                   f"see `sandbox logs {self.name}`")

    def processes(self) -> list[ProcessSpec]:
        command = _venv(self.workload.command)
        # HOSTNAME: the pod's name, as Kubernetes sets it (the JSON logs carry it as `pod`)
        return [ProcessSpec(f"replica-{i}", command, env={**self._env(self.replica_port(i)), "HOSTNAME": self.pod_name(i)},
                            cwd=self.folder)
                for i in range(self.replicas())]

    def _gateway(self) -> Gateway:
        return Gateway(self.settings, self.state, self.endpoints)

    def after_start(self) -> None:
        gateway = self._gateway()
        for index in range(self.replicas()):  # replicas drained by an earlier scale-down come back
            gateway.enable(self.name, index)

    def before_stop(self, role: str) -> None:
        """Scale-down as Kubernetes does it: out of the Service's endpoints first, then stopped
        once its in-flight requests are answered (no 502 for requests already sent to it)."""
        self._gateway().drain(self.name, _replica_index(role))

    def revision(self) -> str:
        """The pod template (command, env, migrations, probe) plus the code the replicas load: the
        service's folder and services/common."""
        digest = hashlib.sha256(json.dumps([
            self.workload.command, self._pod_env(), self.workload.init_commands, self.workload.readiness_path,
        ], sort_keys=True).encode())
        for root in (self.folder, SERVICES_DIR / "common"):
            for path in sorted(root.rglob("*")):
                parts = path.relative_to(root).parts
                if (path.is_file() and path.suffix not in NOT_RUNTIME_SUFFIXES
                        and not any(p in NOT_RUNTIME_DIRS or p.startswith(".") or p.endswith(".egg-info")
                                    for p in parts)):
                    digest.update(str(path.relative_to(SERVICES_DIR)).encode() + b"\0" + path.read_bytes())
        return digest.hexdigest()[:16]

    def process_health(self, role: str) -> Health:
        ready = self._replica_ready(_replica_index(role))
        return Health(ready, f"{role} {'ready' if ready else 'not ready'}")

    def readiness(self, index: int) -> HttpProbe:
        """The Deployment's readinessProbe, against one replica."""
        return HttpProbe(f"http://127.0.0.1:{self.replica_port(index)}{self.workload.readiness_path}")

    def _replica_ready(self, index: int) -> bool:
        probe = self.readiness(index)
        try:
            return probe().ok
        except probe.not_yet:
            return False

    def health(self) -> Health:
        count = self.replicas()
        ready = sum(self._replica_ready(index) for index in range(count))
        scaling = (f", HPA {self.workload.min_replicas}..{self.workload.max_replicas}"
                   if self.workload.cpu_target else "")
        return Health(ready == count, f"{ready}/{count} replicas ready{scaling}")

    def env(self) -> dict[str, str]:
        return {key: self.url for key in url_names(self.workload)}


def _replica_index(role: str) -> int:
    return int(role.rsplit("-", 1)[1])  # roles are replica-<index> (processes())


def _venv(command) -> list[str]:
    """Commands name venv tools (`python`, or a console script); run them from this interpreter's venv."""
    bin_dir = Path(sys.executable).parent
    head, *rest = command
    if head == "python":
        return [sys.executable, *rest]
    return [str(bin_dir / head), *rest]
