"""schemathesis against the running user-service, from the OpenAPI document it serves (/openapi.json):
no generated input (coverage phase boundary values such as NUL in strings, then random examples)
is answered 5xx. Runs against the sandbox when `make test` exports USER_SERVICE_URL, and leaves
nothing behind there (svc_common.schemathesis_run); skipped, saying why, otherwise."""
from __future__ import annotations

from svc_common import schemathesis_run


def test_no_input_is_answered_5xx():
    schemathesis_run.assert_no_5xx("USER_SERVICE_URL", "USERS_TABLE", "AWS_ENDPOINT_URL", events=False)
