"""Tests against a running cluster-mode sandbox (`make test-cluster` brings its own instance up
first: state dir .sandbox-cluster, ports +600, and takes it down after), through the clients
users use: kubectl with the KUBECONFIG `sandbox env` prints, HTTP on the forwarded ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SANDBOX = [sys.executable, "-m", "sandbox.cli"]


@pytest.fixture(scope="session")
def sandbox_env() -> dict[str, str]:
    result = subprocess.run([*SANDBOX, "env", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)
    assert "KUBECONFIG" in env, "sandbox env has no KUBECONFIG: is the instance up with --cluster?"
    return env


@pytest.fixture(scope="session")
def kubectl(sandbox_env):
    from sandbox.cluster import tools
    from sandbox.settings import settings

    binary = tools.binary(settings().user_cache_dir, "kubectl")

    def run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, "KUBECONFIG": sandbox_env["KUBECONFIG"]})
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return result

    return run


@pytest.fixture(scope="session")
def state_dir() -> Path:
    from sandbox.settings import settings

    return settings().state_dir
