"""A pure-Python Lambda Runtime API client: the fallback when awslambdaric cannot be installed.

`python -s sandbox/lambda_runtime.py module.function` in the task root, with AWS_LAMBDA_RUNTIME_API
set, does what AWS's runtime interface client does, in the standard library only: import the
handler (an import failure is posted to `/init/error` as Runtime.ImportModuleError or
Runtime.HandlerNotFound), then loop on `GET /2018-06-01/runtime/invocation/next`, call the handler
with the event and a context, and post its JSON result to `/invocation/<id>/response` or its
exception to `/invocation/<id>/error` as {"errorMessage", "errorType", "requestId", "stackTrace"}.
Prints and logging go to stdout, which the executor records as the invocation's logs.
Not covered: response streaming, the JSON log format, SnapStart hooks.
"""

from __future__ import annotations

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

API = "/2018-06-01/runtime"


class LambdaContext:
    """The attributes and methods of AWS's Python context object."""

    def __init__(self, request_id: str, deadline_ms: int, function_arn: str, trace_id: str | None):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self.trace_id = trace_id
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


class Client:
    def __init__(self, address: str):
        host, _, port = address.partition(":")
        self.connection = http.client.HTTPConnection(host, int(port or 80))

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        self.connection.request(method, API + path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response, response.read()

    def post_error(self, path: str, exc: BaseException, error_type: str | None = None, request_id: str = "") -> None:
        payload = error_payload(exc, error_type, request_id)
        self.request("POST", path, json.dumps(payload).encode(),
                     {"Content-Type": "application/json", "Lambda-Runtime-Function-Error-Type": payload["errorType"]})


def error_payload(exc: BaseException, error_type: str | None = None, request_id: str = "") -> dict:
    frames = traceback.extract_tb(exc.__traceback__)
    return {"errorMessage": str(exc), "errorType": error_type or type(exc).__name__, "requestId": request_id,
            "stackTrace": traceback.format_list(frames)}


def load_handler(name: str):
    module_name, _, function_name = name.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError") from exc
    except SyntaxError as exc:
        raise _InitError(f"Syntax error in module '{module_name}': {exc}", "Runtime.UserCodeSyntaxError") from exc
    handler = getattr(module, function_name, None)
    if handler is None:
        raise _InitError(f"Handler '{function_name}' missing on module '{module_name}'", "Runtime.HandlerNotFound")
    return handler


class _InitError(Exception):
    def __init__(self, message: str, error_type: str):
        super().__init__(message)
        self.error_type = error_type


def main(argv: list[str]) -> int:
    handler_name = argv[1] if len(argv) > 1 else os.environ["_HANDLER"]
    client = Client(os.environ["AWS_LAMBDA_RUNTIME_API"])
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    logging.getLogger().setLevel(logging.WARNING)  # AWS's default level; a handler's own logger may set its own
    sys.stderr = sys.stdout
    try:
        handler = load_handler(handler_name)
    except _InitError as exc:
        print(f"[ERROR] {exc.error_type}: {exc}", flush=True)
        client.post_error("/init/error", exc, exc.error_type)
        return 1
    except Exception as exc:  # the module raised while importing
        traceback.print_exc()
        client.post_error("/init/error", exc)
        return 1
    while True:
        response, body = client.request("GET", "/invocation/next")
        if response.status != 200:
            return 1
        request_id = response.getheader("Lambda-Runtime-Aws-Request-Id", "")
        os.environ["_X_AMZN_TRACE_ID"] = response.getheader("Lambda-Runtime-Trace-Id", "")
        context = LambdaContext(request_id, int(response.getheader("Lambda-Runtime-Deadline-Ms", "0")),
                                response.getheader("Lambda-Runtime-Invoked-Function-Arn", ""),
                                response.getheader("Lambda-Runtime-Trace-Id"))
        try:
            event = json.loads(body) if body else {}
            result = json.dumps(handler(event, context), default=str).encode()
        except Exception as exc:  # the invocation's error is its result, as in AWS
            print(f"[ERROR] {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc(file=sys.stdout)
            sys.stdout.flush()
            client.post_error(f"/invocation/{request_id}/error", exc, request_id=request_id)
            continue
        sys.stdout.flush()
        client.request("POST", f"/invocation/{request_id}/response", result, {"Content-Type": "application/json"})


if __name__ == "__main__":
    sys.exit(main(sys.argv))
