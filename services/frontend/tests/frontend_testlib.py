"""Helpers shared by the frontend tests (a uniquely named module, unlike conftest)."""
from __future__ import annotations

import os

import pytest


def require_env(*names: str) -> dict:
    """The named env vars, or skip the test saying which are missing."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        pytest.skip(f"needs the sandbox: {', '.join(missing)} not set (run inside `sandbox env`)")
    return {name: os.environ[name] for name in names}


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"
