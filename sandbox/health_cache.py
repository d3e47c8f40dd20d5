"""The monitor's recent health results (`<state>/state/health.json`), read by warm `up`/`status`.

Kept apart from the monitor's loop (sandbox/monitor.py) so that the runtimes can read the cache
without importing the loop, which drives the orchestrator.
"""

from __future__ import annotations

import json
import os
import time

from sandbox.health import Health

MONITOR = "monitor"  # the monitor's process record and log name
FRESH_FOR = 15.0  # seconds a result counts as current


def health_file(state):
    return state.records_dir / "health.json"


def read_cached(state, name: str, not_before: float) -> Health | None:
    """The monitor's last result for `name` if it is recent and newer than `not_before`."""
    try:
        entry = json.loads(health_file(state).read_text())[name]
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None
    checked = entry["checked_at"]
    if checked < not_before or time.time() - checked > FRESH_FOR:
        return None
    return Health(entry["ok"], entry["detail"])


def write(state, results: dict[str, dict]) -> None:
    """Replace the cache atomically: {name: {"ok", "detail", "checked_at"}}."""
    target = health_file(state)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(results))
    os.replace(tmp, target)
