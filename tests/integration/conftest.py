"""Brings the native sandbox up once per test session (reusing a healthy running one) and stops it
at the end if this session started it, checking that no process is left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
PROJECT = Path(__file__).resolve().parents[2]


def sandbox_cli(*args: str, env: dict | None = None, check: bool = True, timeout: float = 300):
    result = subprocess.run([str(BIN / "sandbox"), *args], capture_output=True, text=True, cwd=PROJECT,
                            env={**os.environ, **(env or {})}, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"sandbox {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def status_json(env: dict | None = None) -> list[dict]:
    return json.loads(sandbox_cli("status", "--json", env=env, check=False).stdout)


@pytest.fixture(scope="session")
def sandbox_env() -> dict[str, str]:
    already_running = sandbox_cli("status", check=False).returncode == 0
    sandbox_cli("up")
    env = json.loads(sandbox_cli("env", "--format", "json").stdout)
    yield env
    if not already_running:
        sandbox_cli("down")
        from sandbox import process
        from sandbox.settings import settings

        leftovers = process.owned_processes(str(settings().state_dir.resolve()))
        assert not leftovers, f"processes left after down: {[p.cmdline() for p in leftovers]}"


@pytest.fixture(scope="session")
def made_events(sandbox_env) -> list[int]:
    """Events a test made on the sandbox (append their ids): purged with their bookings when the
    session ends, once the consumer has decided them, so the developer's sandbox is left as it was."""
    from svc_common.pg_cleanup import purge_events

    made: list[int] = []
    yield made
    purge_events(sandbox_env["DATABASE_URL"], made, wait_decided_s=30)
