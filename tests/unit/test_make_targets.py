"""Every documented make target stands alone: right after `make sandbox`, each read-only one works
from a fresh shell, i.e. `env -i` with only a plain PATH and HOME (no activated venv, no Go or
pyenv on PATH, no certificate variables), without another target having installed anything first.

Read-only: it neither starts nor stops the sandbox, nor takes minutes (measured on the 2-core
machine, tools built: help/status/doctor ~2 s, lint ~10 s, gitops-check ~4 s, tf-check ~70 s,
licenses 35-90 s; about 2 minutes in all). The others are classed in NOT_RUN with the reason. Runs only where `make sandbox`
has been done (.venv and the Go tools it builds exist); a target whose prerequisites are not built
yet builds them, which takes minutes once."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

READ_ONLY = ["help", "doctor", "status", "lint", "gitops-check", "tf-check", "licenses"]
NOT_RUN = {
    "system-deps": "an installer (apt-get when something is missing); run as a prerequisite of every venv target",
    "venv": "an installer (creates/updates .venv); run, as a no-op, as a prerequisite of doctor/status/lint/...",
    "tools": "an installer (go builds); run as the prerequisite of gitops-check and licenses",
    "sandbox": "starts the sandbox",
    "down": "stops the sandbox",
    "clean": "stops the sandbox and wipes its state",
    "test": "starts a sandbox and runs every suite (many minutes)",
    "scenarios": "needs a running sandbox; minutes of end-to-end load",
    "load": "needs a running sandbox; minutes of load",
    "load-ui": "an interactive web UI that runs until stopped",
    "images": "builds the docker runtime's images (minutes, needs a Docker engine)",
    "test-docker": "starts a Docker engine and a docker sandbox (many minutes)",
    "bench": "starts private sandboxes and loads them (many minutes)",
    "cluster-tools": "an installer (go builds of the cluster's binaries: ~50 min from an empty build cache)",
    "observability-tools": "an installer (go builds of Prometheus with its UI, VictoriaLogs and the exporters)",
    "sandbox-cluster": "starts the sandbox in cluster mode (installs its packages and binaries first)",
    "test-cluster": "starts a cluster-mode sandbox and runs the cluster's suites (many minutes)",
}

pytestmark = pytest.mark.skipif(
    not ((ROOT / ".venv" / "bin" / "sandbox").exists() and (ROOT / ".cache" / "bin" / "kustomize").exists()
         and shutil.which("make")),
    reason="needs `make sandbox` done first (.venv and .cache/bin/kustomize)")


def make(target: str, timeout: int = 600, **env: str) -> subprocess.CompletedProcess:
    clean = {"PATH": CLEAN_PATH, "HOME": os.environ.get("HOME", "/root"), **env}
    return subprocess.run(["env", "-i", *(f"{k}={v}" for k, v in clean.items()), "make", "-C", str(ROOT), target],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def documented() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    return re.findall(r"^([a-zA-Z_-]+):.*?## ", makefile, re.M)


def report(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout (tail)\n{proc.stdout[-3000:]}\n--- stderr (tail)\n{proc.stderr[-3000:]}"


def test_every_documented_target_is_classed():
    """A new target in `make help` must be put in READ_ONLY (and so run here) or NOT_RUN, with why."""
    targets = documented()
    assert "help" in targets
    assert sorted(targets) == sorted(READ_ONLY + list(NOT_RUN))


@pytest.mark.parametrize("target", [t for t in READ_ONLY if t != "status"])
def test_read_only_target_works_from_a_fresh_shell(target):
    proc = make(target)
    assert proc.returncode == 0, report(proc)
    assert "Traceback" not in proc.stdout + proc.stderr, report(proc)


def _status_table(proc: subprocess.CompletedProcess) -> None:
    out = proc.stdout + proc.stderr
    assert "sandbox status" in out and "component" in out, report(proc)
    assert "Traceback" not in out, report(proc)


def test_status_works_from_a_fresh_shell():
    """`sandbox status` exits 1 (make: 2) when something is not healthy: "works" is exit 0 with a
    running sandbox, else that exit with the table (each component's state), never a crash."""
    proc = make("status", timeout=120)
    assert proc.returncode in (0, 2), report(proc)
    _status_table(proc)


def test_status_with_nothing_running_says_so(tmp_path):
    proc = make("status", timeout=120, SANDBOX_STATE_DIR=str(tmp_path / "state"))
    assert proc.returncode == 2, report(proc)  # sandbox status: exit 1
    _status_table(proc)
    assert "not started" in proc.stdout, report(proc)
