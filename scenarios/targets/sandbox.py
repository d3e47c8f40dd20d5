"""The native sandbox as a scenario target: everything goes through the `sandbox` CLI, which reads
SANDBOX_STATE_DIR and the SANDBOX_PORTS__* overrides, so a private instance needs no code here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scenarios.targets.base import StatusSnapshot, Target

PROJECT = Path(__file__).resolve().parents[2]
CLI = Path(sys.executable).parent / "sandbox"


class SandboxError(AssertionError):
    pass


def cli(*args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `sandbox ARGS` (bounded by ``timeout``); raise with its output when it fails and ``check``."""
    result = subprocess.run([str(CLI), *args], capture_output=True, text=True, cwd=PROJECT, timeout=timeout,
                            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
    if check and result.returncode != 0:
        raise SandboxError(f"sandbox {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                           f"{result.stderr[-3000:]}")
    return result


class SandboxTarget(Target):
    name = "sandbox"

    def __init__(self) -> None:
        self._started = False

    def ensure_up(self) -> bool:
        if cli("status", check=False, timeout=60).returncode == 0:
            return False
        cli("up", timeout=600)
        self._started = True
        return True

    def teardown(self) -> None:
        cli("down", timeout=120)

    def endpoints(self) -> dict[str, str]:
        return json.loads(cli("env", "--format", "json", timeout=60).stdout)

    def status(self) -> StatusSnapshot:
        result = cli("status", "--json", check=False, timeout=60)  # exits 1 like plain `status`
        rows = json.loads(result.stdout)
        return StatusSnapshot(ok=result.returncode == 0, rows={r["component"]: r for r in rows})

    def kill(self, component: str, index: int | None = 0) -> list[int]:
        pids = self.status().rows[component]["pids"]
        chosen = pids if index is None else [pids[index]]
        for pid in chosen:
            os.killpg(pid, signal.SIGKILL)  # each sandbox process leads its own group
        return chosen

    def heal(self) -> StatusSnapshot:
        # the monitor restarting a crashed service holds the project lock for a moment, and `up`
        # then refuses at once ("another `sandbox up`/`down` is running"): retry that, bounded
        deadline = time.monotonic() + 60
        while True:
            result = cli("up", check=False, timeout=300)
            busy = "another `sandbox up`" in result.stdout + result.stderr
            if result.returncode == 0 or not busy or time.monotonic() > deadline:
                break
            self.heal_lock_retries = getattr(self, "heal_lock_retries", 0) + 1
            time.sleep(1.0)
        if result.returncode != 0:
            raise SandboxError(f"sandbox up failed ({result.returncode}):\n{result.stdout[-3000:]}\n"
                               f"{result.stderr[-3000:]}")
        out = result.stdout
        # what `up` did, from its table: {component: "started 7.6s"} for everything not reused
        self.last_heal_actions = {}
        for line in out.splitlines():
            cells = [c.strip() for c in line.strip("│ ").split("│")]
            if len(cells) >= 3 and cells[1] and cells[1] != "reused" and cells[1] != "action" and cells[0]:
                self.last_heal_actions[cells[0]] = f"{cells[1]} {cells[2]}"
        # `up` returns once each component is healthy; a restarted Flink job may still be RESTARTING
        deadline = time.monotonic() + 60
        snap = self.status()
        while not snap.ok and time.monotonic() < deadline:
            time.sleep(1)
            snap = self.status()
        return snap

    def stop_analytics_job(self) -> str:
        return cli("flink", "cancel", timeout=180).stdout.strip()

    def start_analytics_job(self) -> str:
        return cli("flink", "submit", timeout=180).stdout.strip()
