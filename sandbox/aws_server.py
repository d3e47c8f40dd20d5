"""moto server plus a Lambda executor that really runs the function's packaged code.

moto runs Lambda code only inside Docker; without Docker it answers with a canned payload. Here
`LambdaFunction.invoke` is replaced so that each invocation runs on a warm execution environment
of `sandbox.lambda_executor` (the runtime interface client of the function's runtime, or a
provided.* function's bootstrap, speaking the Lambda Runtime API to this process), with the real
event, the function's environment and the emulator's endpoint. A raised error answers with
X-Amz-Function-Error: Unhandled and AWS's error payload, as AWS does (moto says "Handled").
InvocationType=Event and S3 -> Lambda notifications are asynchronous, through the same pools, as
in AWS, and S3 events' object keys keep "/" unencoded, as AWS's do. Each invocation is recorded
in the Lambda log (`sandbox logs lambda`), with any warning about the runtime it ran on.
These replacements are deliberate patches of moto internals, pinned to the moto version in
pyproject.toml and covered by the integration tests.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import functools
import io
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from sandbox import aws_state
from sandbox.lambda_executor import Executor, FunctionSpec, Result, Throttled

# the sandbox's process markers (sandbox/process.py) ride along, so `sandbox down` finds leftovers
BASE_ENV_KEYS = ("SANDBOX_OWNER", "SANDBOX_COMPONENT", "HOME", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
ASYNC_MAX_AGE = 6 * 3600.0  # AWS keeps an async event up to 6 hours
SAVE_EVERY = 10.0  # seconds: at most this much of the emulator's changes is lost to a kill -9


def _stamp(at: float) -> str:
    """Local time to the millisecond: a log store ingests these lines a second or so later, so the
    line's own time is what `sandbox trace` orders an invocation's hops by."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) + f".{int(at % 1 * 1000):03d}"


class InvocationLog:
    """The Lambda log file: one record per invocation, plus the executor's warnings.

    A record is written once the invocation returned, in one write (records of concurrent
    invocations never interleave); its START line carries the time the invoke began, the others
    the time it ended. EVENT and RESULT name the RequestId too, so each line of a record can be
    tied to its invocation on its own (in a log store, lines are searched one by one)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def write(self, lines: list[str], started: float | None = None) -> None:
        now = time.time()
        stamps = [_stamp(now)] * len(lines)
        if started is not None and lines:
            stamps[0] = _stamp(started)
        with self._lock, open(self.path, "a") as handle:
            handle.write("".join(f"{stamp} {line}\n" for stamp, line in zip(stamps, lines, strict=True)))

    def warn(self, message: str) -> None:
        self.write([f"WARNING {message}"])

    def record(self, name: str, body: bytes, result: Result, how: str, started: float | None = None) -> None:
        rid = result.request_id
        lines = [f"START {name} RequestId: {rid} ({how}, environment {result.environment or '-'})",
                 f"EVENT RequestId: {rid} {body.decode(errors='replace')[:2000]}"]
        lines += [f"  {line}" for line in result.logs.splitlines()]
        lines.append(f"RESULT RequestId: {rid} {result.payload.decode(errors='replace')[:2000]}")
        init = f" Init: {result.init_ms:.0f} ms" if result.init_ms is not None else ""
        lines.append(f"END RequestId: {rid} Duration: {result.duration_ms:.0f} ms{init} "
                     f"Status: {result.status}")
        self.write(lines, started)


def _spec(fn) -> FunctionSpec:
    """The executor's view of a moto LambdaFunction."""
    from moto.awslambda.utils import get_backend

    def layers():
        backend = get_backend(fn.account_id, fn.region)
        found = []
        for layer in fn.layers or []:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is not None:
                found.append((layer["Arn"], functools.partial(getattr, version, "code_bytes")))
        return found

    reserved = fn.reserved_concurrency
    return FunctionSpec(
        name=fn.function_name, arn=fn.function_arn, version=str(fn.version), runtime=fn.run_time or "",
        handler=fn.handler or "", timeout=float(fn.timeout or 3), memory_size=int(fn.memory_size or 128),
        region=fn.region, code_sha256=base64.b64decode(fn.code_sha_256 or "").hex() or "empty",
        code=lambda: fn.code_bytes, env_vars=dict(fn.environment_vars or {}), layers=layers(),
        reserved_concurrency=None if reserved is None or reserved == "" else int(reserved),
        log_group=fn.logs_group_name,
    )


def _reserved_elsewhere(spec: FunctionSpec) -> int:
    """Every other function's reserved concurrency in the account and region: not in the unreserved pool."""
    from moto.awslambda.utils import get_backend

    account = spec.arn.split(":")[4]
    try:
        functions = get_backend(account, spec.region).list_functions()
    except Exception:  # noqa: BLE001 - an estimate; never fail an invoke over it
        return 0
    return sum(int(f.reserved_concurrency) for f in functions
               if f.reserved_concurrency not in (None, "") and f.function_name != spec.name)


def _header(headers, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    return value if value is not None else headers.get(name.lower())


def install(executor: Executor, log: InvocationLog) -> None:
    from moto.awslambda import models as lambda_models
    from moto.awslambda.exceptions import LambdaClientError
    from moto.s3 import notifications

    class TooManyRequests(LambdaClientError):
        code = 429

        def __init__(self, reason: str):
            super().__init__("TooManyRequestsException", "Rate Exceeded.")
            self.description = json.dumps({"__type": "TooManyRequestsException", "message": "Rate Exceeded.",
                                           "Reason": reason, "Type": "User"})

    def run(fn, body: bytes, how: str, wait: float = 0.0) -> Result:
        started = time.time()
        result = executor.invoke(_spec(fn), body, wait_for_capacity=wait)
        log.record(fn.function_name, body, result, how, started)
        METRICS.invoked(fn.function_name, result)
        try:
            fn.logs_backend.ensure_log_group(fn.logs_group_name)
            fn.save_logs(result.logs + "\n" + result.payload.decode(errors="replace"))
        except Exception:  # noqa: BLE001 - CloudWatch's copy is best effort
            pass
        return result

    def run_async(fn, body: bytes, how: str) -> None:
        def target():
            try:
                run(fn, body, how, wait=ASYNC_MAX_AGE)
            except Exception as exc:  # noqa: BLE001 - an async event's failure is the log's, not the caller's
                log.warn(f"async invocation of {fn.function_name} failed: {exc!r}")

        threading.Thread(target=target, name=f"lambda-async-{fn.function_name}", daemon=True).start()

    def invoke(self, body, request_headers, response_headers):
        body = body.encode() if isinstance(body, str) else (body or b"")
        body = body or b"{}"
        invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        response_headers["x-amz-executed-version"] = str(self.version)
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            run_async(self, body, "Event")
            return b""
        try:
            result = run(self, body, "RequestResponse")
        except Throttled as exc:
            raise TooManyRequests(exc.reason) from exc
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        if (_header(request_headers, "X-Amz-Log-Type") or "").lower() == "tail":
            response_headers["x-amz-log-result"] = base64.b64encode(result.log_tail.encode()).decode()
        return result.payload

    def _invoke_lambda(self, event=None):  # moto's own callers of the older entry point
        result = run(self, json.dumps(event if event is not None else {}).encode(), "RequestResponse")
        return result.payload.decode(errors="replace"), result.function_error is not None, result.logs

    lambda_models.LambdaFunction.invoke = invoke  # type: ignore[method-assign]
    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]

    create_function = lambda_models.LambdaBackend.create_function

    def create_and_prepare(self, spec):
        fn = create_function(self, spec)
        METRICS.created(fn.function_name)
        if fn.run_time:
            executor.prepare(fn.run_time)  # builds the runtime's folder while the function is new
        return fn

    lambda_models.LambdaBackend.create_function = create_and_prepare  # type: ignore[method-assign]

    delete_function = lambda_models.LambdaBackend.delete_function

    def delete_and_forget(self, function_name, *args, **kwargs):
        result = delete_function(self, function_name, *args, **kwargs)
        executor.forget(function_name.split(":")[6] if function_name.startswith("arn:") else function_name)
        return result

    lambda_models.LambdaBackend.delete_function = delete_and_forget  # type: ignore[method-assign]

    def _invoke_awslambda(account_id, event_body, fn_arn, region_name):
        try:
            from moto.awslambda.utils import get_backend

            fn = get_backend(account_id, region_name).get_function(fn_arn)
            run_async(fn, json.dumps(event_body).encode(), "Event from S3")
        except Exception:  # noqa: BLE001 - asynchronous in AWS: the bucket's caller never sees it
            pass

    notifications._invoke_awslambda = _invoke_awslambda

    # AWS URL-encodes an S3 event's object key as a form value but keeps its slashes
    # ("uploads/my+doc.txt"); moto's quote_plus encodes them too ("uploads%2Fmy+doc.txt")
    notifications.quote_plus = functools.partial(urllib.parse.quote_plus, safe="/")


LOCALSTACK_VERSION = "4.14.0"  # the LocalStack whose surface this answers like (its last free image)
INIT_STAGES = ("BOOT", "START", "READY", "SHUTDOWN")


class PersistentState:
    """The emulator's memory kept in a file (sandbox/aws_state.py): loaded at start, saved at most
    every SAVE_EVERY seconds after a change, on request and at exit. Without a file the state
    lives only as long as the process, under an id of its own.

    `GET /_sandbox/state` answers the state's id (what the Terraform task matches its last apply
    against); `POST /_sandbox/state/save` saves now, to the file or to `{"path": ...}` (a snapshot);
    `POST /_sandbox/state/load` with `{"path": ...}` puts a saved state in place of the running
    one (`sandbox reset`, without a restart), and `forget` stops the environments of the Lambda
    functions it no longer has."""

    def __init__(self, path: Path | None, warn, forget=lambda function_name: None):
        self.path = path
        self._forget = forget
        self.id = aws_state.new_id()
        self.restored: list[str] = []
        self.saved_at: float | None = None
        self._changed = False
        self._lock = threading.Lock()
        if path and path.exists():
            try:
                loaded = aws_state.load(path)
            except aws_state.StateError as exc:
                path.replace(path.with_name(path.name + ".refused"))
                warn(f"started empty: {exc}; the file is kept as {path.name}.refused")
                return
            self.id, self.restored = loaded.state_id, loaded.services

    def changed(self) -> None:
        self._changed = True

    def save(self, to: Path | None = None) -> dict:
        target = to or self.path
        if target is None:
            return {"id": self.id, "path": None}
        started = time.monotonic()
        with self._lock:
            if to is None:
                self._changed = False
            aws_state.save(target, self.id)
            if to is None:
                self.saved_at = time.time()
        return {"id": self.id, "path": str(target), "bytes": target.stat().st_size,
                "seconds": round(time.monotonic() - started, 3)}

    def replace(self, source: Path) -> dict:
        started = time.monotonic()
        with self._lock:
            before = set(_function_names())
            loaded = aws_state.replace(source)
            self.id, self.restored = loaded.state_id, loaded.services
            self._changed = True  # its own file is written with what was loaded
            after = set(_function_names())
        for name in before - after:
            self._forget(name)
        for name in after:
            METRICS.created(name)
        return {"id": self.id, "restored": self.restored, "seconds": round(time.monotonic() - started, 3)}

    def keep_saving(self) -> None:
        def loop():
            while True:
                time.sleep(SAVE_EVERY)
                if self._changed:
                    self.save()

        if self.path:
            threading.Thread(target=loop, name="state-saver", daemon=True).start()

    def describe(self) -> dict:
        return {"id": self.id, "file": str(self.path) if self.path else None, "restored": self.restored,
                "saved_at": self.saved_at}


READ_ACTIONS = ("Get", "List", "Describe", "Scan", "Query", "BatchGet", "Head", "Lookup", "Search")
ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z0-9]*)")  # the query protocol's operation name


def _changes_state(environ) -> bool:
    """Whether a call may change what the emulator holds, so the state file is saved after it.
    Reads are told apart by method, by the JSON protocol's X-Amz-Target, by the query protocol's
    Action (the body is read and put back), and Lambda's Invoke by its path: the monitor's STS
    health call every 2 s and the services' reads then cost no save."""
    method = environ.get("REQUEST_METHOD", "GET")
    if method in ("GET", "HEAD", "OPTIONS"):
        return False
    if environ.get("PATH_INFO", "").endswith("/invocations"):
        return False
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return not target.rsplit(".", 1)[-1].startswith(READ_ACTIONS)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded") and 0 < length <= 65536:
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)
        found = ACTION.search(body)
        return not (found and found.group(1).decode().startswith(READ_ACTIONS))
    return True


class LocalStackSurface:
    """LocalStack's own endpoints on the emulator's port, in LocalStack's shapes, so tools written
    for LocalStack (testcontainers' wait strategy, `localstack wait`, curl loops, localstack-client)
    work against the sandbox unchanged:

    - GET /_localstack/health: {"services": {<every moto service>: "running"}, "edition", "version"}
    - GET /_localstack/init[/<stage>]: the init hooks (`sandbox/init/ready.d`, run by the `init`
      task once everything is ready) with their state, read from `init_status` which that task
      writes; READY is complete once it ran against this emulator process.

    `_localstack` can never be an S3 bucket name, so no path-style S3 request is shadowed.
    """

    def __init__(self, app, init_status: Path | None, state: PersistentState):
        self.app = app
        self.init_status = init_status
        self.state = state
        if init_status:
            init_status.unlink(missing_ok=True)  # a new emulator: its READY stage has not run yet

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if path == METRICS_PATH and method == "GET":
            return METRICS.serve(start_response)
        if path.startswith(STATE_PATH):
            body, status = self.state_call(path, method, environ)
        elif not path.startswith("/_localstack/") or method not in ("GET", "HEAD"):
            METRICS.request(environ.get("HTTP_AUTHORIZATION", ""))
            if _changes_state(environ):
                self.state.changed()
            return self.app(environ, start_response)
        elif path == "/_localstack/health":
            body, status = self.health(), "200 OK"
        elif path == "/_localstack/init":
            body, status = self.init(), "200 OK"
        elif path.startswith("/_localstack/init/") and path.rsplit("/", 1)[1].upper() in INIT_STAGES:
            stage = path.rsplit("/", 1)[1].upper()
            init = self.init()
            body = {"completed": init["completed"][stage], "scripts": [s for s in init["scripts"] if s["stage"] == stage]}
            status = "200 OK"
        else:
            body, status = {"error": f"no such LocalStack endpoint: {path}"}, "404 Not Found"
        data = json.dumps(body).encode()  # LocalStack's spacing ('"s3": "running"'): scripts grep for it
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def state_call(self, path: str, method: str, environ) -> tuple[dict, str]:
        if path == STATE_PATH and method in ("GET", "HEAD"):
            return self.state.describe(), "200 OK"
        action = path.removeprefix(STATE_PATH + "/")
        if action not in ("save", "load") or method != "POST":
            return {"error": f"no such endpoint: {method} {path}"}, "404 Not Found"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
            to = request.get("path") if isinstance(request, dict) else None
            if (to is None and action == "load") or (to is not None and (not isinstance(to, str) or not os.path.isabs(to))):
                return {"error": "path must be an absolute file path", "field": "path"}, "400 Bad Request"
        except (ValueError, UnicodeDecodeError):
            return {"error": "the body must be JSON: {\"path\": \"/absolute/file\"} or nothing"}, "400 Bad Request"
        if action == "load" and to is not None:
            try:
                return self.state.replace(Path(to)), "200 OK"
            except aws_state.StateError as exc:
                return {"error": str(exc), "field": "path"}, "400 Bad Request"
        try:
            return self.state.save(Path(to) if to else None), "200 OK"
        except OSError as exc:
            return {"error": f"could not write the state: {exc}", "field": "path"}, "400 Bad Request"

    @staticmethod
    @functools.cache
    def health() -> dict:
        """Services by their AWS names (as LocalStack and the SDKs name them: `lambda`, `cognito-idp`),
        each a moto backend; moto's module names differ (`awslambda`, `cognitoidp`)."""
        import botocore.session
        from moto.backends import list_of_moto_modules

        def norm(name: str) -> str:
            return name.replace("-", "").replace("_", "")

        moto = {norm(m) for m in list_of_moto_modules()}
        names = [n for n in botocore.session.get_session().get_available_services()
                 if norm(n) in moto or "aws" + norm(n) in moto]
        return {"services": dict.fromkeys(sorted(names), "running"), "edition": "community",
                "version": LOCALSTACK_VERSION}

    def init(self) -> dict:
        try:
            ran = json.loads(self.init_status.read_text()) if self.init_status else None
        except (FileNotFoundError, json.JSONDecodeError):
            ran = None
        return {"completed": {"BOOT": True, "START": True, "READY": ran is not None, "SHUTDOWN": False},
                "scripts": (ran or {}).get("scripts", [])}


METRICS_PATH = "/_sandbox/metrics"  # "_" is never in a bucket name: no S3 path-style request is shadowed
STATE_PATH = "/_sandbox/state"


class EmulatorMetrics:
    """The emulator's Prometheus metrics: API calls per AWS service, and each Lambda invocation
    (count by outcome, duration) as CloudWatch's Invocations, Errors and Duration count them."""

    def __init__(self):
        try:  # the docker runtime's emulator image has no prometheus_client: no metrics there
            from prometheus_client import CollectorRegistry, Counter, Histogram
        except ImportError:
            self.registry = None
            return
        self.registry = CollectorRegistry()
        self.requests = Counter("aws_requests_total", "API calls by AWS service (from the SigV4 scope)",
                                ["aws_service"], registry=self.registry)
        self.invocations = Counter("lambda_invocations_total", "Lambda invocations by outcome (ok, error, timeout)",
                                   ["function_name", "outcome"], registry=self.registry)
        self.duration = Histogram("lambda_duration_seconds", "Lambda invocation duration", ["function_name"],
                                  buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=self.registry)

    def request(self, authorization: str) -> None:
        if self.registry is None:
            return
        # "AWS4-HMAC-SHA256 Credential=KEY/20260101/us-east-1/s3/aws4_request, ..."
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/") if "Credential=" in authorization else []
        self.requests.labels(scope[3] if len(scope) > 3 else "unsigned").inc()

    def created(self, function_name: str) -> None:
        """A new function's series at zero, so that rate() counts its first invocations too."""
        if self.registry is None:
            return
        for outcome in ("ok", "error"):
            self.invocations.labels(function_name, outcome)
        self.duration.labels(function_name)

    def invoked(self, function_name: str, result: Result) -> None:
        if self.registry is None:
            return
        self.invocations.labels(function_name, result.status).inc()
        self.duration.labels(function_name).observe(result.duration_ms / 1000)

    def serve(self, start_response):
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        data = generate_latest(self.registry)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(data)))])
        return [data]


METRICS = EmulatorMetrics()


def base_env(endpoint: str) -> dict[str, str]:
    """What every execution environment inherits from the emulator: credentials and endpoint only.

    PATH loses the emulator's own venv, so a handler's subprocesses do not find its tools either.
    """
    env = {key: os.environ[key] for key in BASE_ENV_KEYS if key in os.environ}
    env["AWS_ENDPOINT_URL"] = endpoint  # this emulator, whatever endpoint its own environment names
    venv_bin = str(Path(sys.prefix) / "bin")
    path = [p for p in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(":") if p and p != venv_bin]
    env["PATH"] = ":".join(path)
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--lambda-log", type=Path, required=True)
    parser.add_argument("--lambda-work-dir", type=Path, required=True)
    parser.add_argument("--lambda-cache-dir", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sandbox-lambda",
                        help="where the runtimes' folders (awslambdaric, aws-lambda-ric) are built and kept")
    parser.add_argument("--init-status", type=Path, default=None,
                        help="the init task's report of the hooks it ran (served at /_localstack/init)")
    parser.add_argument("--state-file", type=Path, default=None,
                        help="keep every resource in this file across restarts (none: in memory only)")
    args = parser.parse_args(argv)
    args.lambda_work_dir.mkdir(parents=True, exist_ok=True)
    args.lambda_log.parent.mkdir(parents=True, exist_ok=True)
    log = InvocationLog(args.lambda_log)
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    executor = Executor(args.lambda_work_dir, args.lambda_cache_dir, base_env(f"http://{host}:{args.port}"),
                        log.warn, _reserved_elsewhere)
    install(executor, log)
    state = PersistentState(args.state_file, log.warn, executor.forget)
    for name in _function_names():
        METRICS.created(name)

    # the environments are process groups of their own: stop them too (moto's SIGTERM/SIGINT
    # handler exits through sys.exit, so atexit runs); the state is saved first
    atexit.register(executor.shutdown)
    if args.state_file:
        atexit.register(state.save)
    state.keep_saving()

    serve(args.host, args.port, args.init_status, state)


def _function_names() -> list[str]:
    """The Lambda functions a restored state holds."""
    from moto.awslambda.models import lambda_backends

    return [fn.function_name for account in lambda_backends.values() for backend in account.values()
            for fn in backend.list_functions()]


def serve(host: str, port: int, init_status: Path | None, state: PersistentState) -> None:
    """moto's server (as `moto.server.main` runs it) behind LocalStack's own endpoints."""
    import signal

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    os.environ.setdefault("MOTO_PORT", str(port))
    for sig in (signal.SIGINT, signal.SIGTERM):  # exit through sys.exit, so atexit runs
        signal.signal(sig, lambda signum, frame: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    print("Ready.", flush=True)  # the line LocalStack prints, which testcontainers waits for
    run_simple(host, port, LocalStackSurface(app, init_status, state), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
