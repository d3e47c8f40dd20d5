"""Fixtures: real S3 + DynamoDB endpoints (svc_common.aws_test_fixtures: the sandbox's, or a moto
server started here)."""
from __future__ import annotations

pytest_plugins = ["svc_common.aws_test_fixtures"]
