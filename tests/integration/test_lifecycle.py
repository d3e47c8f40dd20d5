"""Crash-safety and bad input, on a private state dir and ports so the shared sandbox is untouched."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from contextlib import suppress

import psutil
import pytest

from sandbox import process
from sandbox.poll import until
from tests.integration.conftest import BIN, PROJECT, sandbox_cli


@pytest.fixture
def private(tmp_path):
    tmp_path.chmod(0o755)  # the unprivileged postgres user must reach the state dir
    for parent in tmp_path.parents:
        if str(parent).startswith("/tmp/") and parent.stat().st_uid == os.geteuid():
            parent.chmod(parent.stat().st_mode | 0o001)
    env = {"SANDBOX_STATE_DIR": str(tmp_path / "state")}
    for name in ("AWS", "POSTGRES", "GCS"):
        env[f"SANDBOX_PORTS__{name}"] = str(_free_port())
    yield env, str((tmp_path / "state").resolve())
    sandbox_cli("down", env=env, check=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_kill_9_of_up_does_not_confuse_the_next_up_and_down_leaves_nothing(private):
    env, owner = private
    crashed = subprocess.Popen([str(BIN / "sandbox"), "up", "--only", "aws,postgres,gcs"], cwd=PROJECT,
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with suppress(TimeoutError):  # bounded: killed whatever it has started by then
        until(lambda: len(process.owned_processes(owner)) >= 3, timeout=30, what="3 owned processes", interval=0.1)
    crashed.send_signal(signal.SIGKILL)
    crashed.wait()

    sandbox_cli("up", "--only", "aws,postgres,gcs", env=env)
    owned = process.owned_processes(owner)
    commands = [" ".join(p.cmdline()) for p in owned]
    assert sum("sandbox.aws_server" in c for c in commands) == 1
    assert sum(c.startswith("/usr/lib/postgresql") and "-D" in c for c in commands) == 1
    assert sum("gcp-storage-emulator" in c for c in commands) == 1

    groups = {os.getpgid(p.pid) for p in owned if p.is_running()}
    result = sandbox_cli("down", env=env)
    assert "stopped" in result.stdout
    assert process.owned_processes(owner) == []
    for pgid in groups:
        assert [p for p in process.group_members(pgid) if p.status() != psutil.STATUS_ZOMBIE] == []


def test_occupied_port_is_one_line_naming_component_port_and_setting(private):
    env, owner = private
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = sandbox_cli("up", "--only", "aws,postgres", env={**env, "SANDBOX_PORTS__POSTGRES": str(port)},
                             check=False)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert str(port) in message and "postgres" in message and "SANDBOX_PORTS__POSTGRES" in message
    assert process.owned_processes(owner) == [], "nothing may be left half-started"


def test_bad_setting_and_unknown_component_exit_1_without_traceback(private):
    env, _ = private
    bad = sandbox_cli("up", env={**env, "SANDBOX_PORTS__KAFKA": "abc"}, check=False)
    assert bad.returncode == 1 and "SANDBOX_PORTS__KAFKA" in bad.stderr and "Traceback" not in bad.stderr
    unknown = sandbox_cli("up", "--only", "kafak", env=env, check=False)
    assert unknown.returncode == 1 and "choose from" in unknown.stderr
