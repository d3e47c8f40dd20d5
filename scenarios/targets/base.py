"""The interface every scenario target implements."""

from __future__ import annotations

from dataclasses import dataclass


class UnsupportedFault(Exception):
    """The target cannot inject this fault (the test is skipped, saying so)."""


@dataclass
class StatusSnapshot:
    """What the platform reports about its components right now."""

    ok: bool                      # every started component healthy (the CLI's exit code 0)
    rows: dict[str, dict]         # component -> {state, pids, healthy, health, ...}

    def healthy(self, component: str) -> bool:
        return bool(self.rows.get(component, {}).get("healthy"))


class Target:
    """A running ticket-booking system the scenarios talk to."""

    name = "abstract"
    last_heal_actions: dict[str, str] = {}  # what the last heal() restarted, for the report

    def ensure_up(self) -> bool:
        """Bring the system up or reuse a healthy one; True if this call started it."""
        raise NotImplementedError

    def teardown(self) -> None:
        """Stop what :meth:`ensure_up` started."""

    def endpoints(self) -> dict[str, str]:
        """FRONTEND_URL, EVENT_SERVICE_URL, KAFKA_BROKERS, DATABASE_URL, ... (the `sandbox env` names)."""
        raise NotImplementedError

    def trace(self, ident: str, wait_s: float = 3.0) -> dict:
        """`sandbox trace ID --json` of the platform: the path of one booking id, request id or S3
        key, plus ``exit`` (0 complete, 1 stopped, 2 no logs store or unknown id, with ``error``)."""
        raise UnsupportedFault(f"{self.name}: trace")

    # ----------------------------------------------------------------- faults
    def kill(self, component: str, index: int | None = 0) -> list[int]:
        """kill -9 the process group of process ``index`` of ``component`` (every one of its
        processes/replicas when None); return the pids."""
        raise UnsupportedFault(f"{self.name}: kill {component}")

    def status(self) -> StatusSnapshot:
        raise UnsupportedFault(f"{self.name}: status")

    def heal(self, components: list[str] | None = None) -> StatusSnapshot:
        """Restart what is dead among ``components`` (all when None) and wait until they are
        healthy (bounded); return the status afterwards."""
        raise UnsupportedFault(f"{self.name}: heal")

    def stop_analytics_job(self) -> str:
        raise UnsupportedFault(f"{self.name}: stop analytics job")

    def start_analytics_job(self) -> str:
        raise UnsupportedFault(f"{self.name}: start analytics job")
