#!/usr/bin/env python3
"""Stand-in for LocalStack's lambda-runtime-init (`/var/rapid/init` in each Lambda container).

LocalStack 4.14.0 downloads its Go init (v0.1.41-pre) from GitHub releases, unreachable here, and
the Go module proxy reachable here answers 403 "module version is not available" for
github.com/localstack/lambda-runtime-init, so it cannot be built either. This script speaks the same protocol to LocalStack's executor endpoint, for Python (zip) functions:
- start: import the handler (`_HANDLER`) from /var/task, POST <endpoint>/status/<id>/ready
  (or /error with the import error);
- LocalStack POSTs {"invoke-id", "payload", ...} to :9563/invoke; the handler runs and its result
  goes to <endpoint>/invocations/<id>/response (an exception: /error, AWS's error shape), its
  printed output to .../logs.
One invocation at a time, as in a real execution environment.
"""

import contextlib
import importlib
import io
import json
import os
import sys
import time
import traceback
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ENDPOINT = os.environ["LOCALSTACK_RUNTIME_ENDPOINT"]
RUNTIME_ID = os.environ["LOCALSTACK_RUNTIME_ID"]
TIMEOUT_S = float(os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT", "3"))


def post(path: str, body) -> None:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(ENDPOINT + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def error_body(exc: BaseException) -> dict:
    return {"errorMessage": str(exc), "errorType": type(exc).__name__,
            "stackTrace": traceback.format_tb(exc.__traceback__)}


class Context:
    """The parts of Lambda's context object functions use."""

    def __init__(self, invoke: dict):
        self.aws_request_id = invoke["invoke-id"]
        self.invoked_function_arn = invoke.get("invoked-function-arn", "")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline = time.monotonic() + TIMEOUT_S

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler():
    sys.path.insert(0, "/var/task")
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    return getattr(importlib.import_module(module_name.replace("/", ".")), function_name)


class Invoke(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        invoke = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.wfile.flush()
        request_id = invoke["invoke-id"]
        output = io.StringIO()
        started = time.monotonic()
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                result = HANDLER(json.loads(invoke.get("payload") or "null"), Context(invoke))
            outcome, body = "response", json.dumps(result).encode()
        except Exception as exc:  # the function's error goes back to the caller, as in AWS
            traceback.print_exc(file=output)
            outcome, body = "error", json.dumps(error_body(exc)).encode()
        millis = (time.monotonic() - started) * 1000
        logs = (f"START RequestId: {request_id} Version: $LATEST\n{output.getvalue()}"
                f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {millis:.2f} ms\n")
        sys.stdout.write(logs)
        sys.stdout.flush()
        post(f"/invocations/{request_id}/logs", {"logs": logs})
        post(f"/invocations/{request_id}/{outcome}", body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    try:
        HANDLER = load_handler()
    except Exception as exc:
        traceback.print_exc()
        post(f"/status/{RUNTIME_ID}/error", error_body(exc) | {"requestId": str(uuid.uuid4())})
        sys.exit(1)
    server = ThreadingHTTPServer(("0.0.0.0", 9563), Invoke)
    post(f"/status/{RUNTIME_ID}/ready", {})
    server.serve_forever()
