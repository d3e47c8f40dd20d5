"""The component interface every emulated piece implements, whatever its runtime.

A component declares its processes; the orchestrator spawns the missing ones, records them, waits
for `health()` through the component's real client, then runs `after_start()` once.
"""

from __future__ import annotations

import shutil
import signal
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.poll import NOT_YET
from sandbox.settings import Settings
from sandbox.state import StateDir


@dataclass
class ProcessSpec:
    role: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    user: str | None = None


class Component(ABC):
    """Start, health, endpoint env, logs, stop: the same for every runtime."""

    name: str = ""
    stop_signal: int = signal.SIGTERM
    health_after_setup: bool = False  # health() can pass only once after_start() has run
    # warm `up`/`status` may use the monitor's recent result (for clients that are slow to import);
    # cheap checks (HTTP, sockets) always run live so a change is never hidden by the cache
    cached_health: bool = False
    # start order (orchestrator): None = every selected component of a lower tier; else these names
    needs: tuple[str, ...] | None = None
    needed_by_later_tiers: bool = True  # False: higher tiers do not wait for this one
    port_name: str = ""  # key in Settings.ports of the main (advertised) port
    extra_port_names: tuple[str, ...] = ()

    def __init__(self, settings: Settings, state: StateDir):
        self.settings = settings
        self.state = state

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

    @abstractmethod
    def processes(self) -> list[ProcessSpec]:
        """The processes that make up the running component."""

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

    def probe_errors(self) -> tuple[type[BaseException], ...]:
        """The exceptions of `health()` that mean "not ready yet" while it starts (its client's
        connection errors); `wait_for` raises any other at once. Classes are imported here, lazily."""
        return NOT_YET

    def process_health(self, role: str) -> Health:
        """Health of one process (a rollout waits for each replacement); the whole component's
        by default."""
        return self.health()

    @abstractmethod
    def env(self) -> dict[str, str]:
        """Endpoint env vars with the names the real clouds use."""

    def log_files(self) -> list[Path]:
        return [self.log_file]


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
