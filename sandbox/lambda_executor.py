"""Lambda execution environments that speak the Lambda Runtime API, pooled as AWS keeps them warm.

An execution environment is one child process (the runtime interface client of the function's
runtime, or a provided.* function's `bootstrap`) started in the unpacked zip with
AWS_LAMBDA_RUNTIME_API pointing at a Runtime API server of its own: a small HTTP server on
127.0.0.1 in this process, serving `GET /2018-06-01/runtime/invocation/next`,
`POST .../invocation/<id>/response`, `POST .../invocation/<id>/error` and `POST .../init/error`
as AWS documents them. An environment runs one invocation at a time and is reused while warm.

Pools are keyed by (function ARN, version, code sha256, configuration): an update of code or
configuration gets fresh environments and the old ones are stopped once idle. Idle
environments are stopped after `SANDBOX_LAMBDA_IDLE_SECONDS` (300). Concurrency is counted as
AWS does, as invocations in flight per function: a function's reserved concurrency, else the
account's unreserved share of `SANDBOX_LAMBDA_CONCURRENCY` (else moto's
MOTO_LAMBDA_CONCURRENCY_QUOTA, else 1000) minus every reservation; past it a synchronous invoke
gets TooManyRequestsException and an asynchronous one waits in its queue, as in AWS. At most
`SANDBOX_LAMBDA_MAX_ENVIRONMENTS` (32) environments live at once on this machine: past that the
least recently used idle one is stopped, or the invoke waits for one (a local limit, not AWS's).

The function timeout runs from the event's hand-over: past it the environment is killed and the
invocation fails with AWS's payload ({"errorType": "Sandbox.Timedout", "errorMessage": "RequestId:
... Error: Task timed out after N.NN seconds"}). Initialisation (process start to its first /next)
gets `SANDBOX_LAMBDA_INIT_TIMEOUT` (10 s, AWS's) plus the function timeout, as AWS re-runs a
timed-out init inside the invoke.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sandbox import lambda_runtimes

API = "/2018-06-01/runtime"
LOG_TAIL = 4096  # bytes of the log an invoke with LogType=Tail gets back, as AWS
MAX_LOG_LINES = 20000


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def idle_seconds() -> float:
    return _env_float("SANDBOX_LAMBDA_IDLE_SECONDS", 300)


def init_timeout() -> float:
    return _env_float("SANDBOX_LAMBDA_INIT_TIMEOUT", 10)


def max_environments() -> int:
    return int(_env_float("SANDBOX_LAMBDA_MAX_ENVIRONMENTS", 32))


def account_concurrency() -> int:
    return int(os.environ.get("SANDBOX_LAMBDA_CONCURRENCY") or os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA") or 1000)


class Throttled(Exception):
    """AWS's TooManyRequestsException: the function's or the account's concurrency is used up."""

    def __init__(self, reason: str):
        super().__init__("Rate Exceeded.")
        self.reason = reason


@dataclass
class FunctionSpec:
    """What the executor needs of a function version (read off moto's LambdaFunction)."""

    name: str
    arn: str
    version: str
    runtime: str
    handler: str
    timeout: float
    memory_size: int
    region: str
    code_sha256: str
    code: Callable[[], bytes]  # the zip, read only when an environment is created
    env_vars: dict[str, str] = field(default_factory=dict)
    layers: list[tuple[str, Callable[[], bytes]]] = field(default_factory=list)  # (ARN, zip)
    reserved_concurrency: int | None = None
    log_group: str = ""

    @property
    def key(self) -> str:
        config = [self.runtime, self.handler, self.timeout, self.memory_size, sorted(self.env_vars.items()),
                  [arn for arn, _ in self.layers]]
        return f"{self.arn}:{self.version}:{self.code_sha256}:{json.dumps(config, default=str)}"

    @property
    def counted_as(self) -> str:
        """Concurrency is counted per function, across its versions."""
        return self.arn.split(":function:", 1)[-1].split(":")[0]


@dataclass
class Result:
    """One invocation's outcome: what Invoke answers and what the invocation log records."""

    request_id: str
    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, as AWS's X-Amz-Function-Error
    status: str  # ok | error | timeout
    logs: str
    duration_ms: float
    init_ms: float | None = None  # a cold start's initialisation
    environment: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def log_tail(self) -> str:
        return self.logs[-LOG_TAIL:]


class _Invocation:
    def __init__(self, request_id: str, body: bytes, deadline_ms: int, function_arn: str):
        self.request_id = request_id
        self.body = body
        self.deadline_ms = deadline_ms
        self.function_arn = function_arn
        self.trace_id = f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0"
        self.done = threading.Event()
        self.payload = b""
        self.error_type: str | None = None  # Lambda-Runtime-Function-Error-Type of /error


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class Environment:
    """One execution environment: a child process and its own Runtime API server."""

    def __init__(self, spec: FunctionSpec, runtime: lambda_runtimes.Runtime, task_root: Path, opt_dir: Path,
                 base_env: dict[str, str]):
        self.id = uuid.uuid4().hex[:12]
        self.spec = spec
        self.key = spec.key
        self.runtime = runtime
        self.task_root = task_root
        self.opt_dir = opt_dir
        self.busy = True
        self.alive = True
        self.last_used = time.monotonic()
        self._base_env = base_env
        self._cond = threading.Condition()
        self._pending: _Invocation | None = None  # waiting for /next
        self._current: _Invocation | None = None  # handed out by /next, not yet answered
        self._ready = False
        self._init_error: bytes | None = None
        self._init_error_type: str | None = None
        self._exit_code: int | None = None
        self._log_lock = threading.Lock()
        self._lines: list[str] = []
        self._partial = b""
        self.proc: subprocess.Popen | None = None
        self.init_ms: float | None = None
        self.counted: tuple[str, bool] = ("", False)  # how the invocation in flight is counted (Executor._count)
        self.server = _RuntimeApiServer(self)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.5},  # how soon stop() ends it
                         name=f"lambda-rapi-{self.id}", daemon=True).start()

    # ------------------------------------------------------------ start and stop
    def command(self) -> list[str]:
        if self.runtime.kind == "provided":
            for candidate in (self.task_root / "bootstrap", self.opt_dir / "bootstrap"):
                if candidate.is_file():
                    return [str(candidate)]
            return []
        return [*self.runtime.command, self.spec.handler]

    def environ(self) -> dict[str, str]:
        spec, runtime = self.spec, self.runtime
        path = [*runtime.path, str(self.opt_dir / "bin"), *self._base_env.get("PATH", "/usr/bin:/bin").split(":")]
        env = {**self._base_env, "PATH": ":".join(path), "LANG": "en_US.UTF-8", "TZ": ":UTC",
               "LD_LIBRARY_PATH": ":".join([str(self.opt_dir / "lib"), str(self.task_root / "lib")])}
        if runtime.kind == "python":
            site = f"python/lib/python{runtime.name.removeprefix('python')}/site-packages"
            env["PYTHONPATH"] = ":".join([str(self.task_root), str(self.opt_dir / site), str(self.opt_dir / "python")])
        elif runtime.kind == "node":
            major = runtime.name.removeprefix("nodejs").removesuffix(".x")
            env["NODE_PATH"] = ":".join([str(self.opt_dir / f"nodejs/node{major}/node_modules"),
                                         str(self.opt_dir / "nodejs/node_modules"), str(self.task_root)])
        env.update({str(k): str(v) for k, v in spec.env_vars.items()})
        stamp = time.strftime("%Y/%m/%d", time.gmtime())
        env.update(runtime.env)
        env.update({  # AWS's reserved variables: the function's own cannot override them
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{stamp}/[{spec.version}]{self.id}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_port}",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "LAMBDA_TASK_ROOT": str(self.task_root),
        })
        env.setdefault("LAMBDA_RUNTIME_DIR", str(self.task_root))
        return env

    def start(self) -> tuple[bool, bytes | None]:
        """Start the process and wait for its first /next: (ready, the init error payload if not)."""
        command = self.command()
        if not command:
            self.stop()
            return False, _error("Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): "
                                 f"[{self.task_root / 'bootstrap'} {self.opt_dir / 'bootstrap'}]")
        try:
            self.proc = proc = _spawn(command, cwd=self.task_root, env=self.environ())
        except OSError as exc:
            self.stop()
            return False, _error("Runtime.InvalidEntrypoint", f"{exc.strerror}: {command[0]}")
        assert proc.stdout is not None  # spawned with stdout=PIPE
        os.set_blocking(proc.stdout.fileno(), False)
        threading.Thread(target=self._pump, name=f"lambda-log-{self.id}", daemon=True).start()
        threading.Thread(target=self._wait, name=f"lambda-wait-{self.id}", daemon=True).start()
        with self._cond:
            # AWS gives init 10 s, then runs a timed-out init again inside the invoke, under the function timeout
            limit = init_timeout() + float(self.spec.timeout or 3)
            self._cond.wait_for(lambda: self._ready or self._init_error is not None or self._exit_code is not None,
                                timeout=limit)
            ready, init_error, exit_code = self._ready, self._init_error, self._exit_code
        if ready:
            return True, None
        self.stop()
        if init_error is not None:
            return False, init_error
        if exit_code is not None:
            return False, _error("Runtime.ExitError", f"Runtime exited with error: exit status {exit_code}")
        return False, _error("Sandbox.Timedout", f"Init phase timed out after {limit:.2f} seconds")

    def stop(self) -> None:
        self.alive = False
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with self._cond:
            self._cond.notify_all()
        threading.Thread(target=self._close_server, daemon=True).start()

    def _close_server(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _wait(self) -> None:
        assert self.proc is not None  # started by start()
        code = self.proc.wait()
        with self._cond:
            self._exit_code = code
            self.alive = False
            self._cond.notify_all()
            current = self._current or self._pending
        if current and not current.done.is_set():
            current.payload = _error("Runtime.ExitError", f"RequestId: {current.request_id} Error: Runtime exited "
                                     f"with error: {'signal ' + str(-code) if code < 0 else 'exit status ' + str(code)}")
            current.error_type = "Runtime.ExitError"
            current.done.set()

    # ------------------------------------------------------------ logs: the child's stdout and stderr
    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None  # started by start()
        stdout = self.proc.stdout
        fd = stdout.fileno()
        while self._read_available():
            try:
                select.select([fd], [], [])
            except (OSError, ValueError):
                break
        with self._log_lock:
            stdout.close()

    def _read_available(self) -> bool:
        """Move what the pipe holds into the log buffer; False at its end."""
        with self._log_lock:
            if self.proc is None or self.proc.stdout is None or self.proc.stdout.closed:
                return False
            fd = self.proc.stdout.fileno()
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    return True
                except OSError:
                    return False
                if not chunk:
                    return False
                *lines, self._partial = (self._partial + chunk).split(b"\n")
                self._lines += [line.decode(errors="replace") for line in lines]
                if len(self._lines) > MAX_LOG_LINES:  # a chatty process between invocations: keep the newest
                    del self._lines[:-MAX_LOG_LINES]

    def take_logs(self) -> str:
        """Everything the process wrote so far, including what is still in the pipe."""
        self._read_available()
        with self._log_lock:
            lines, self._lines = self._lines, []
            if self._partial:
                lines.append(self._partial.decode(errors="replace"))
                self._partial = b""
        return "\n".join(lines)

    # ------------------------------------------------------------ one invocation
    def invoke(self, body: bytes, timeout: float) -> Result:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        invocation = _Invocation(request_id, body, int((time.time() + timeout) * 1000), self.spec.arn)
        with self._cond:
            self._pending = invocation
            self._cond.notify_all()
        finished = invocation.done.wait(timeout)
        duration_ms = (time.monotonic() - started) * 1000
        if not finished:
            self.stop()
            payload = _error("Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds")
            return Result(request_id, payload, "Unhandled", "timeout", self.take_logs(), duration_ms, environment=self.id)
        with self._cond:
            self._current = None
        errored = invocation.error_type is not None
        return Result(request_id, invocation.payload, "Unhandled" if errored else None, "error" if errored else "ok",
                      self.take_logs(), duration_ms, environment=self.id)

    # ------------------------------------------------------------ the Runtime API, called by the server's threads
    def next_invocation(self) -> _Invocation | None:
        with self._cond:
            if not self._ready:
                self._ready = True
                self._cond.notify_all()
            self._cond.wait_for(lambda: self._pending is not None or not self.alive)
            if not self.alive:
                return None
            invocation, self._pending = self._pending, None
            self._current = invocation
            return invocation

    def respond(self, request_id: str, payload: bytes, error_type: str | None) -> bool:
        with self._cond:
            invocation = self._current
            if invocation is None or invocation.request_id != request_id or invocation.done.is_set():
                return False
        invocation.payload, invocation.error_type = payload, error_type
        invocation.done.set()
        return True

    def init_failed(self, payload: bytes, error_type: str | None) -> None:
        with self._cond:
            self._init_error, self._init_error_type = payload, error_type or "Runtime.Unknown"
            self._cond.notify_all()


class _RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, environment: Environment):
        self.environment = environment
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # a killed environment's socket
            super().handle_error(request, client_address)


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the clients hold one connection
    disable_nagle_algorithm = True
    server: _RuntimeApiServer

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        head = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}", f"Content-Length: {len(body)}",
                "Content-Type: application/json"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)  # one write: no Nagle stall
        self.wfile.flush()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self):  # noqa: N802 - http.server's naming
        if self.path != f"{API}/invocation/next":
            return self._send(404, _error("InvalidRequest", f"no such path: {self.path}"))
        invocation = self.server.environment.next_invocation()
        if invocation is None:  # the environment is stopping
            self.close_connection = True
            return self._send(500, _error("Runtime.Stopped", "the execution environment is stopping"))
        self._send(200, invocation.body, {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.function_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        })

    def do_POST(self):  # noqa: N802
        body = self._body()
        environment = self.server.environment
        if self.path == f"{API}/init/error":
            environment.init_failed(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            return self._send(202, b'{"status":"OK"}')
        parts = self.path.removeprefix(f"{API}/invocation/").split("/")
        if not self.path.startswith(f"{API}/invocation/") or len(parts) != 2 or parts[1] not in ("response", "error"):
            return self._send(404, _error("InvalidRequest", f"no such path: {self.path}"))
        request_id, kind = parts
        error_type = (self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled") if kind == "error" else None
        if not environment.respond(request_id, body, error_type):
            return self._send(400, _error("InvalidRequestID", f"no invocation {request_id} in progress"))
        self._send(202, b'{"status":"OK"}')


_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()
SETPRIV = shutil.which("setpriv")


def _spawn(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start an environment's process in a group of its own, from one long-lived thread, with
    `setpriv --pdeathsig KILL` where util-linux has it: the kernel kills the process when that
    thread ends, i.e. when the emulator dies, even by SIGKILL (the parent-death signal follows the
    thread that forked, so a request thread, which ends, cannot be the one)."""
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lambda-spawn")
    wrapped = [SETPRIV, "--pdeathsig", "KILL", "--", *command] if SETPRIV else command
    return _spawner.submit(subprocess.Popen, wrapped, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True).result()


def _unpack(code: bytes, target: Path) -> Path:
    """Unpack a zip once into `target`, keeping its files' modes (a bootstrap's exec bit)."""
    if target.exists():
        return target
    staging = target.with_name(f"{target.name}.tmp{os.getpid()}.{threading.get_ident()}")
    staging.mkdir(parents=True)
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, staging))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)
    try:
        staging.rename(target)
    except OSError:  # another thread unpacked it first
        shutil.rmtree(staging, ignore_errors=True)
    return target


class Executor:
    """The pools of execution environments of every function; thread-safe."""

    def __init__(self, work_dir: Path, cache_dir: Path, base_env: dict[str, str], warn: Callable[[str], None],
                 reserved_elsewhere: Callable[[FunctionSpec], int] = lambda spec: 0):
        self.work_dir = work_dir
        self.cache_dir = cache_dir
        self.base_env = base_env
        self.warn = warn
        self.reserved_elsewhere = reserved_elsewhere  # the other functions' reservations, for the unreserved pool
        self._cond = threading.Condition()
        self._environments: list[Environment | _Placeholder] = []
        self._busy: dict[str, int] = {}  # in-flight invocations per function (counted_as)
        self._busy_unreserved = 0
        self._runtimes: dict[str, lambda_runtimes.Runtime] = {}
        self._runtime_locks: dict[str, threading.Lock] = {}
        self._stopped = False
        threading.Thread(target=self._reap_loop, name="lambda-reaper", daemon=True).start()

    # ------------------------------------------------------------ runtimes
    def runtime(self, name: str) -> lambda_runtimes.Runtime:
        """The runtime, resolved (and its folder built) once per process; warnings logged once."""
        with self._cond:
            lock = self._runtime_locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._runtimes:
                runtime = lambda_runtimes.resolve(name, self.cache_dir)
                for warning in runtime.warnings:
                    self.warn(warning)
                self._runtimes[name] = runtime
            return self._runtimes[name]

    def prepare(self, runtime: str) -> None:
        """Resolve a runtime in the background (on CreateFunction), so the first invoke finds it built."""
        def run():
            try:
                self.runtime(runtime)
            except lambda_runtimes.RuntimeUnavailable:
                pass  # reported by the invoke that needs it
        threading.Thread(target=run, name=f"lambda-prepare-{runtime}", daemon=True).start()

    # ------------------------------------------------------------ invoking
    def invoke(self, spec: FunctionSpec, body: bytes, wait_for_capacity: float = 0.0) -> Result:
        """Run one invocation on a warm environment, or a new one.

        Past the function's concurrency it raises Throttled at once, or after waiting up to
        `wait_for_capacity` seconds for an invocation to finish (an async event's queue).
        """
        environment, init_result = self._acquire(spec, wait_for_capacity)
        if init_result is not None:
            return init_result
        assert environment is not None  # _acquire gives one or the other
        try:
            result = environment.invoke(body, float(spec.timeout or 3))
            result.init_ms, environment.init_ms = environment.init_ms, None
            return result
        finally:
            self._release(environment)

    def _limit(self, spec: FunctionSpec) -> tuple[int, str]:
        if spec.reserved_concurrency is not None:
            return int(spec.reserved_concurrency), "ReservedFunctionConcurrentInvocationLimitExceeded"
        return account_concurrency() - self.reserved_elsewhere(spec), "ConcurrentInvocationLimitExceeded"

    def _acquire(self, spec: FunctionSpec, wait: float) -> tuple[Environment | None, Result | None]:
        key, counted = spec.key, spec.counted_as
        limit, reason = self._limit(spec)
        give_up = time.monotonic() + wait
        with self._cond:
            while True:
                busy = self._busy.get(counted, 0) if spec.reserved_concurrency is not None else self._busy_unreserved
                if busy >= limit:
                    if time.monotonic() >= give_up:
                        raise Throttled(reason)
                else:
                    idle = [e for e in self._environments
                            if isinstance(e, Environment) and e.key == key and not e.busy and e.alive]
                    if idle:
                        environment = max(idle, key=lambda e: e.last_used)  # the warmest
                        environment.busy = True
                        environment.counted = self._count(spec, +1)
                        return environment, None
                    self._stop_stale(spec)
                    if len(self._environments) < max_environments() or self._evict_idle():
                        counted_as = self._count(spec, +1)
                        placeholder = _Placeholder(key)
                        self._environments.append(placeholder)
                        break
                self._cond.wait(timeout=1.0)
        try:
            created, failure = self._create(spec, placeholder, counted_as)
        except BaseException:
            with self._cond:
                self._environments.remove(placeholder)
                self._uncount(counted_as)
                self._cond.notify_all()
            raise
        if created is not None:
            created.counted = counted_as
        return created, failure

    def _create(self, spec: FunctionSpec, placeholder: _Placeholder,
                counted_as: tuple[str, bool]) -> tuple[Environment | None, Result | None]:
        started = time.monotonic()
        request_id = str(uuid.uuid4())

        def failed(payload: bytes, logs: str = "", env_id: str = "") -> tuple[None, Result]:
            with self._cond:
                self._environments.remove(placeholder)
                self._uncount(counted_as)
                self._cond.notify_all()
            return None, Result(request_id, payload, "Unhandled", "error", logs, (time.monotonic() - started) * 1000,
                                environment=env_id)

        try:
            runtime = self.runtime(spec.runtime)
        except lambda_runtimes.RuntimeUnavailable as exc:
            return failed(_error("Runtime.Unavailable", str(exc)))
        try:
            task_root = _unpack(spec.code(), self.work_dir / spec.name / spec.code_sha256[:16])
            opt_dir = self.work_dir / spec.name / "opt" / _digest([arn for arn, _ in spec.layers])
            if not opt_dir.exists():
                _unpack_layers(spec.layers, opt_dir)
        except (OSError, zipfile.BadZipFile) as exc:
            return failed(_error("Runtime.InvalidEntrypoint", f"could not unpack the deployment package: {exc}"))
        environment = Environment(spec, runtime, task_root, opt_dir, self.base_env)
        ready, init_error = environment.start()
        if not ready:
            return failed(init_error or b"", environment.take_logs(), environment.id)
        environment.init_ms = (time.monotonic() - started) * 1000
        with self._cond:
            index = self._environments.index(placeholder)
            self._environments[index] = environment
        return environment, None

    def _count(self, spec: FunctionSpec, delta: int) -> tuple[str, bool]:
        """Count one invocation in flight; returns what was counted, for _uncount."""
        counted = (spec.counted_as, spec.reserved_concurrency is None)
        self._busy[counted[0]] = self._busy.get(counted[0], 0) + delta
        if counted[1]:
            self._busy_unreserved += delta
        return counted

    def _uncount(self, counted: tuple[str, bool]) -> None:
        self._busy[counted[0]] -= 1
        if counted[1]:
            self._busy_unreserved -= 1

    def _release(self, environment: Environment) -> None:
        with self._cond:
            environment.busy = False
            environment.last_used = time.monotonic()
            self._uncount(environment.counted)
            if not environment.alive and environment in self._environments:
                self._environments.remove(environment)
            self._cond.notify_all()

    def _stop_stale(self, spec: FunctionSpec) -> None:
        """Stop the idle environments of this function's older code or configuration, and drop dead ones."""
        prefix = f"{spec.arn}:{spec.version}:"
        for environment in list(self._environments):
            if environment.busy:
                continue
            if not environment.alive or (environment.key.startswith(prefix) and environment.key != spec.key):
                self._environments.remove(environment)
                environment.stop()

    def _evict_idle(self) -> bool:
        idle = [e for e in self._environments if not e.busy]
        if not idle:
            return False
        oldest = min(idle, key=lambda e: e.last_used)
        self._environments.remove(oldest)
        oldest.stop()
        return True

    # ------------------------------------------------------------ reaping and shutting down
    def _reap_loop(self) -> None:
        while not self._stopped:
            time.sleep(max(0.2, min(30.0, idle_seconds() / 4)))
            self.reap()

    def reap(self) -> None:
        limit = idle_seconds()
        now = time.monotonic()
        with self._cond:
            for environment in list(self._environments):
                if not environment.busy and (now - environment.last_used > limit or not environment.alive):
                    self._environments.remove(environment)
                    environment.stop()

    def forget(self, function_name: str) -> None:
        """Stop a deleted function's idle environments (busy ones end after their invocation)."""
        with self._cond:
            for environment in list(self._environments):
                if isinstance(environment, Environment) and not environment.busy \
                        and environment.spec.name == function_name:
                    self._environments.remove(environment)
                    environment.stop()

    def environments(self) -> list[Environment]:
        with self._cond:
            return [e for e in self._environments if isinstance(e, Environment)]

    def shutdown(self) -> None:
        self._stopped = True
        with self._cond:
            environments, self._environments = self._environments, []
        for environment in environments:
            environment.stop()
        for environment in environments:
            if isinstance(environment, Environment) and environment.proc is not None:
                try:
                    environment.proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    pass


class _Placeholder:
    """Holds an environment's place in the pool (and the local limit) while it starts."""

    busy = True
    alive = True
    last_used = float("inf")

    def __init__(self, key: str):
        self.key = key

    def stop(self) -> None:
        pass


def _digest(parts: list[str]) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def _unpack_layers(layers: list[tuple[str, Callable[[], bytes]]], opt_dir: Path) -> None:
    """The function's layers merged in order into one folder, as /opt: a later layer's files win."""
    staging = opt_dir.with_name(f"{opt_dir.name}.tmp{os.getpid()}.{threading.get_ident()}")
    staging.mkdir(parents=True)
    with tempfile.TemporaryDirectory(dir=opt_dir.parent) as tmp:
        for index, (_, layer_zip) in enumerate(layers):
            unpacked = _unpack(layer_zip(), Path(tmp) / str(index))
            shutil.copytree(unpacked, staging, dirs_exist_ok=True, symlinks=True)
    try:
        staging.rename(opt_dir)
    except OSError:  # another thread made it first
        shutil.rmtree(staging, ignore_errors=True)
