"""Runs one Lambda invocation in this process: `python -P sandbox/lambda_runtime.py module.function`.

The event comes on stdin; the handler's prints and logging go to stderr (the invocation's logs);
the JSON result is the last line of stdout. Exit status 1 means the handler raised.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    """The attributes and method handlers commonly use from the real Lambda context."""

    def __init__(self):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ.get("AWS_LAMBDA_FUNCTION_ARN", "")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = os.environ.get("AWS_LAMBDA_REQUEST_ID", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = self.aws_request_id
        self._deadline = time.monotonic() + float(os.environ.get("_LAMBDA_TIMEOUT", "3"))

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> int:
    module_name, _, function_name = sys.argv[1].rpartition(".")
    result_stream = sys.stdout
    sys.stdout = sys.stderr
    try:
        event = json.load(sys.stdin)
        handler = getattr(importlib.import_module(module_name), function_name)
        payload, status = handler(event, LambdaContext()), 0
    except Exception as exc:  # the invocation's error is its result, as in AWS
        traceback.print_exc()
        payload = {"errorMessage": str(exc), "errorType": type(exc).__name__}
        status = 1
    result_stream.write("\n" + json.dumps(payload, default=str) + "\n")
    result_stream.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
