"""The native sandbox as a scenario target: everything goes through the `sandbox` CLI, which reads
SANDBOX_STATE_DIR and the SANDBOX_PORTS__* overrides, so a private instance needs no code here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from contextlib import ExitStack, suppress
from pathlib import Path

from sandbox.poll import until
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
        raise SandboxError(f"sandbox {' '.join(args)} failed ({result.returncode}):\n{_head_and_tail(result.stdout)}\n"
                           f"{_head_and_tail(result.stderr)}")
    return result


def _head_and_tail(text: str, each: int = 1500) -> str:
    """The start of an error (its headline) and its end (the last log lines), not just the end."""
    return text if len(text) <= 2 * each else f"{text[:each]}\n[...]\n{text[-each:]}"


class SandboxTarget(Target):
    name = "sandbox"

    def __init__(self) -> None:
        self._started = False
        self._paused = None  # the project lock file while the monitor's restarts are held back
        self._components: set[str] | None = None  # what this runtime runs, from the first status
        self._pause_guard = threading.Lock()

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

    def trace(self, ident: str, wait_s: float = 3.0) -> dict:
        result = cli("trace", ident, "--json", "--wait", str(wait_s), check=False, timeout=120)
        if result.returncode in (0, 1):
            return {"exit": result.returncode, **json.loads(result.stdout)}
        return {"exit": result.returncode, "error": (result.stderr or result.stdout).strip()}

    def status(self) -> StatusSnapshot:
        result = cli("status", "--json", check=False, timeout=60)  # exits 1 like plain `status`
        rows = json.loads(result.stdout)
        self._components = {r["component"] for r in rows}
        return StatusSnapshot(ok=result.returncode == 0, rows={r["component"]: r for r in rows})

    def kill(self, component: str, index: int | None = 0) -> list[int]:
        row = self.status().rows[component]
        pids = row["pids"]
        chosen = pids if index is None else [pids[index]]
        if row.get("kind") == "service":
            self._pause_monitor()
        for pid in chosen:
            os.killpg(pid, signal.SIGKILL)  # each sandbox process leads its own group
        return chosen

    def _pause_monitor(self, seconds: float = 20) -> None:
        """Hold the project lock `up` takes (the harness's own StateDir.lock): the monitor skips
        restarting crashed services while it is held (as a Deployment would restart them), so
        `status` can show the dead replicas and `up` is what heals them. Released by heal(), or
        after ``seconds`` whatever happens."""
        from sandbox.settings import settings
        from sandbox.state import StateDir

        held = ExitStack()
        held.enter_context(StateDir(settings().state_dir).lock(wait=30))  # another test's `up`, a reconcile
        self._paused = held
        timer = threading.Timer(seconds, self._resume_monitor)
        timer.daemon = True
        timer.start()

    def _resume_monitor(self) -> None:
        with self._pause_guard:
            if self._paused:
                self._paused.close()  # leaving the lock's context frees the flock
                self._paused = None

    def heal(self, components: list[str] | None = None) -> StatusSnapshot:
        # `up --only` the fault's components (None: plain `up`, then wait for a clean status):
        # what another fault test running at the same time broke stays broken until that test
        # heals it (its evidence stays its own).
        self._resume_monitor()
        if components:  # only those this runtime has (the docker runtime has fewer services)
            known = self._components if self._components is not None else set(self.status().rows)
            components = [c for c in components if c in known]
        # `up` waits for the project lock (a monitor reconcile, another test's pause) by itself
        only = ("--only", ",".join(components)) if components else ()
        report = json.loads(cli("up", *only, "--json", timeout=300).stdout)
        # what `up` did: {component: "started 7.6s"} for everything not reused
        self.last_heal_actions = {row["component"]: f"{row['action']} {row['seconds']:.1f}s"
                                  for row in report["components"] if row["action"] != "reused"}

        snap: StatusSnapshot | None = None

        def healed() -> bool:
            nonlocal snap
            snap = self.status()
            return snap.ok if components is None else all(snap.healthy(c) for c in components)

        # `up` returns once each component is healthy; a restarted Flink job may still be RESTARTING
        with suppress(TimeoutError):  # the caller judges the last status
            until(healed, timeout=60, what="a healed status", interval=0.5)
        return snap

    def stop_analytics_job(self) -> str:
        return cli("flink", "cancel", timeout=180).stdout.strip()

    def start_analytics_job(self) -> str:
        return cli("flink", "submit", timeout=180).stdout.strip()
