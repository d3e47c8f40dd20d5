"""The service folder checks itself with the checks every service shares (svc_common.service_layout)."""
from __future__ import annotations

from pathlib import Path

import pytest

from svc_common import service_layout

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("check", service_layout.checks(http_service=True), ids=lambda check: check.__name__)
def test_layout(check):
    check(ROOT)
