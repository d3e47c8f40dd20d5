"""The observability suite runs against the running sandbox (`make test` runs it after the
scenarios, so there is traffic to see); the URLs come from `sandbox env`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    out = subprocess.run([str(BIN / "sandbox"), "env", "--format", "json"], capture_output=True, text=True)
    values = json.loads(out.stdout) if out.returncode == 0 else {}
    if "PROMETHEUS_URL" not in values:
        pytest.skip("no observability components running (`sandbox up`; [observability] enabled = true)")
    return values
