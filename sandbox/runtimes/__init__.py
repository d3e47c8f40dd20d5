"""Runtimes realise component specs: start (or heal, or reuse), stop, status, logs, rollout.

| runtime | realises | module |
|---|---|---|
| native | a component's `processes()` as supervised host processes | native.py |
| docker | a component's `container_specs()` as containers on the sandbox network | docker.py |
| task | a one-shot component (`Kind.TASK`) in this process, again only when its check fails | task.py |

The orchestrator picks one per component: the task runtime for tasks, else the sandbox's runtime
setting. A cluster runtime (Deployments in a real Kubernetes) is a third entry of the same shape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox.health import Health, Probe
from sandbox.settings import Settings
from sandbox.state import StateDir

Progress = Callable[[str, str], None]  # (component, phase)


@dataclass
class UpResult:
    name: str
    action: str  # "started", "reused", "restarted", "rolled out", "applied", "skipped"
    seconds: float
    health: Health


@dataclass
class Status:
    name: str
    state: str  # running, degraded, stopped, not started; done, not done, skipped for tasks
    pids: list[int]
    port: int
    uptime: float | None
    health: Health
    rss: int
    kind: str = "infra"  # the component's Kind value

    @property
    def healthy(self) -> bool:
        return self.state in ("running", "done") and self.health.ok

    @property
    def counts(self) -> bool:
        """Whether this row decides `status`'s exit code (not started or skipped rows do not)."""
        return self.state not in ("not started", "skipped")


class Runtime(ABC):
    name: str = ""

    def __init__(self, settings: Settings, state: StateDir):
        self.settings = settings
        self.state = state
        self.owner = str(state.root.resolve())

    def preflight(self, comp) -> None:
        """Before anything starts: raise SandboxError naming the fix (a port held by a stranger,
        no engine, a missing image)."""

    @abstractmethod
    def up(self, comp, progress: Progress, roll_out: bool = False) -> UpResult:
        """Start, heal or reuse the component until healthy; ``roll_out`` (only `up`, never the
        monitor's restarts or HPA scaling) also replaces what runs an older revision."""

    @abstractmethod
    def down(self, comp) -> bool:
        """Stop it; True if something was running."""

    def teardown(self) -> None:
        """`down` of everything: remove whatever this state dir still owns in this runtime."""

    @abstractmethod
    def status(self, comp) -> Status: ...

    def crashed(self, comp) -> bool:
        """Whether it ran and died (the monitor restarts crashed services)."""
        return False

    def logs(self, comp, lines: int) -> tuple[list[Path], str]:
        """Log files to tail, and text to print first (a container's logs live in the engine)."""
        return comp.log_files(), ""


def quick(probe: Probe) -> Health:
    """One probe now, for `status` and warm `up`: any error is an unhealthy row, never a crash."""
    try:
        return probe()
    except Exception as exc:
        return Health(False, f"{type(exc).__name__}: {exc}"[:200])
