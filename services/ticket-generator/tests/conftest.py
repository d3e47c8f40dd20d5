"""Fixtures: real S3 + DynamoDB endpoints (svc_common.aws_test_fixtures: the sandbox's, or a moto
server started here)."""
from __future__ import annotations

import sys
from pathlib import Path

SERVICE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SERVICE_DIR))
sys.path.insert(0, str(SERVICE_DIR.parent / "common"))

pytest_plugins = ["svc_common.aws_test_fixtures"]
