"""What a component is, whatever runs it: the spec half of the spec/runtime split.

A component declares its kind, what it needs, its ports, its processes, its readiness probe (as
data, sandbox/health.py) and its endpoint env; a runtime (sandbox/runtimes) realises it: the native
one spawns its processes, the docker one its containers, the task one runs it once. The
orchestrator picks the runtime from the kind and passes in the endpoints of the others
(sandbox/endpoints.py), so no component imports the orchestrator.
"""

from __future__ import annotations

import shutil
import signal
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from sandbox.endpoints import Endpoints
from sandbox.errors import SandboxError
from sandbox.health import ClientProbe, Health, Probe
from sandbox.settings import Settings
from sandbox.state import StateDir


class Kind(Enum):
    """What a component is; the order is the start order (a kind starts after the ones above)."""

    INFRA = "infra"  # an emulated cloud piece: broker, database, object store, Flink cluster
    TASK = "task"  # one-shot, done again only when its check fails (the Terraform apply)
    APP = "app"  # long-running helpers the services stand on (gateway, the analytics job)
    SERVICE = "service"  # a Deployment of the GitOps overlay: replicated, restarted on crash

    @property
    def tier(self) -> int:
        return list(Kind).index(self)


@dataclass
class ProcessSpec:
    role: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None


@dataclass
class MetricsTarget:
    """One Prometheus endpoint a component exposes on loopback (sandbox/observability/scrape.py)."""

    address: str  # host:port
    path: str = "/metrics"
    labels: dict[str, str] = field(default_factory=dict)
    honor_labels: bool = False  # a Pushgateway: keep the job/instance labels of what was pushed


class Component(ABC):
    """Start, health, endpoint env, logs, stop: the same for every runtime."""

    name: str = ""
    kind: Kind = Kind.INFRA
    stop_signal: int = signal.SIGTERM
    health_after_setup: bool = False  # health() can pass only once after_start() has run
    # warm `up`/`status` may use the monitor's recent result (for clients that are slow to import);
    # cheap checks (HTTP, sockets) always run live so a change is never hidden by the cache
    cached_health: bool = False
    # start order (orchestrator): None = every selected component of a lower tier; else these names
    needs: tuple[str, ...] | None = None  # ("*",): every other selected component
    needed_by_later_tiers: bool = True  # False: higher tiers do not wait for this one
    port_name: str = ""  # key in Settings.ports of the main (advertised) port
    extra_port_names: tuple[str, ...] = ()

    def __init__(self, settings: Settings, state: StateDir, endpoints: Endpoints | None = None):
        self.settings = settings
        self.state = state
        # the other components' endpoint env, computed once per command by the orchestrator
        self.endpoints = endpoints or Endpoints(settings, state)

    @property
    def port(self) -> int:
        return getattr(self.settings.ports, self.port_name) if self.port_name else 0

    @property
    def ports(self) -> dict[str, int]:
        names = (self.port_name, *self.extra_port_names) if self.port_name else ()
        return {n: getattr(self.settings.ports, n) for n in names}

    @property
    def data_dir(self) -> Path:
        return self.state.data_dir(self.name)

    @property
    def conf_dir(self) -> Path:
        return self.state.conf_dir(self.name)

    @property
    def log_file(self) -> Path:
        return self.state.log_file(self.name)

    def check_prerequisites(self) -> None:
        """Raise SandboxError naming the fix if something this component needs is missing."""

    def install(self) -> None:
        """Fetch what the component runs from a package registry into the cache (idempotent)."""

    def prepare(self) -> None:
        """Create config and data directories before the processes start (idempotent)."""

    def processes(self) -> list[ProcessSpec]:
        """The host processes of the running component (native runtime); none for a task."""
        return []

    @abstractmethod
    def health(self) -> Health:
        """Check through the real client the services use."""

    def after_start(self) -> None:
        """One-time set-up once healthy (topics, databases...); must be idempotent."""

    def before_stop(self, role: str) -> None:
        """One process of a running component is about to stop (a scale-down or a rollout)."""

    def revision(self) -> str | None:
        """What the processes run, as a digest (code, command, env). When it differs from what a
        running process was started with, `up` replaces the processes one at a time (a rollout,
        as a Deployment does on a new pod template). None: never rolled out (infrastructure)."""
        return None

    def probe(self) -> Probe:
        """How a runtime asks whether it is ready, as data. By default a call of `health()` through
        the real client where only OSError (refused/reset connections, timeouts) means "not yet";
        a component whose client raises its own connection errors lists them (imported lazily)."""
        return ClientProbe(self.health)

    def set_replicas(self, count: int) -> None:
        """A service's replica count (the HPA's decision); only services have replicas."""
        raise SandboxError(f"{self.name} has no replicas to scale", "scale a service (`sandbox status` lists them)")

    def process_health(self, role: str) -> Health:
        """Health of one process (a rollout waits for each replacement); the whole component's
        by default."""
        return self.health()

    @abstractmethod
    def env(self) -> dict[str, str]:
        """Endpoint env vars with the names the real clouds use, as the host reaches them."""

    def network_env(self) -> dict[str, str]:
        """Endpoint env as containers on the sandbox network reach it (docker runtime)."""
        return {}

    def log_files(self) -> list[Path]:
        return [self.log_file]

    def snapshot_paths(self) -> list[Path]:
        """The files holding this component's state, under the state dir: what a snapshot keeps
        (sandbox/snapshots.py), copied while the component is stopped. None by default."""
        return []

    def metrics_targets(self) -> list[MetricsTarget]:
        """The Prometheus endpoints of the running component (none by default)."""
        return []


def require_binary(name: str, fix: str) -> str:
    path = shutil.which(name)
    if not path:
        raise SandboxError(f"`{name}` not found on PATH", fix)
    return path


def tail(path: Path, lines: int = 15) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log yet)"
    return "\n".join(content[-lines:])
