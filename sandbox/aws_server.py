"""moto server plus a Lambda executor that really runs the function's packaged code.

moto runs Lambda code only inside Docker; without Docker it answers with a canned payload. Here
`LambdaFunction._invoke_lambda` is replaced so that each invocation unpacks the function's zip and
runs the handler in a separate Python process (`sandbox.lambda_runtime`) with the real event,
the function's environment and the emulator's endpoint. S3 -> Lambda notifications are made
asynchronous, as they are in AWS, and their object keys keep "/" unencoded, as AWS's do. These
replacements are deliberate patches of moto internals,
pinned to the moto version in pyproject.toml and covered by the integration tests.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import zipfile
from pathlib import Path

RUNTIME = Path(__file__).with_name("lambda_runtime.py")


class LambdaExecutor:
    def __init__(self, work_dir: Path, log_file: Path):
        self.work_dir = work_dir
        self.log_file = log_file
        self._log_lock = threading.Lock()

    def code_dir(self, function_name: str, code: bytes) -> Path:
        """Unpack the deployment package once per code version."""
        target = self.work_dir / function_name / hashlib.sha256(code).hexdigest()[:16]
        if not target.exists():
            staging = target.with_name(target.name + f".tmp{os.getpid()}{threading.get_ident()}")
            with zipfile.ZipFile(io.BytesIO(code)) as archive:
                archive.extractall(staging)
            try:
                staging.rename(target)
            except OSError:  # another invocation unpacked it first
                pass
        return target

    def run(self, fn, event) -> tuple[str, bool, str]:
        request_id = str(uuid.uuid4())
        code_dir = self.code_dir(fn.function_name, fn.code_bytes)
        env = {
            key: os.environ[key]
            for key in ("PATH", "HOME", "LANG", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                        "AWS_DEFAULT_REGION", "AWS_REGION")
            if key in os.environ
        }
        env.update({str(k): str(v) for k, v in (fn.environment_vars or {}).items()})
        env.update({
            "PYTHONPATH": str(code_dir),
            "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
            "AWS_LAMBDA_FUNCTION_ARN": fn.function_arn,
            "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
            "AWS_LAMBDA_REQUEST_ID": request_id,
            "_HANDLER": fn.handler,
            "_LAMBDA_TIMEOUT": str(fn.timeout),
        })
        started = time.monotonic()
        try:
            proc = subprocess.run(
                # by path with -P: neither the harness package nor its folder is importable by handlers
                [sys.executable, "-P", str(RUNTIME), fn.handler],
                input=json.dumps(event).encode(), capture_output=True, cwd=code_dir, env=env,
                timeout=float(fn.timeout or 3),
            )
            output = proc.stdout.decode(errors="replace").strip().splitlines()
            payload = output[-1] if output else json.dumps({"errorMessage": "handler produced no result"})
            logs = proc.stderr.decode(errors="replace")
            errored = proc.returncode != 0
        except subprocess.TimeoutExpired:
            payload = json.dumps({"errorMessage": f"Task timed out after {fn.timeout} seconds"})
            logs, errored = "", True
        duration_ms = (time.monotonic() - started) * 1000
        self._record(fn.function_name, request_id, duration_ms, errored, event, payload, logs)
        return payload, errored, logs

    def _record(self, name, request_id, duration_ms, errored, event, payload, logs) -> None:
        lines = [f"START {name} RequestId: {request_id}", f"EVENT {json.dumps(event)[:2000]}"]
        lines += [f"  {line}" for line in logs.splitlines()]
        lines.append(f"RESULT {payload[:2000]}")
        lines.append(f"END RequestId: {request_id} Duration: {duration_ms:.0f} ms Status: {'error' if errored else 'ok'}")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with self._log_lock, open(self.log_file, "a") as handle:
            handle.write("".join(f"{stamp} {line}\n" for line in lines))


def install(executor: LambdaExecutor) -> None:
    from moto.awslambda import models as lambda_models
    from moto.s3 import notifications

    def _invoke_lambda(self, event=None):
        self.logs_backend.ensure_log_group(self.logs_group_name)
        payload, errored, logs = executor.run(self, event if event is not None else {})
        self.save_logs(logs + payload)
        return payload, errored, logs

    lambda_models.LambdaFunction._invoke_lambda = _invoke_lambda  # type: ignore[method-assign]  # moto's, replaced

    sync_invoke = notifications._invoke_awslambda

    def _invoke_async(*args, **kwargs):
        threading.Thread(target=sync_invoke, args=args, kwargs=kwargs, daemon=True).start()

    notifications._invoke_awslambda = _invoke_async

    # AWS URL-encodes an S3 event's object key as a form value but keeps its slashes
    # ("uploads/my+doc.txt"); moto's quote_plus encodes them too ("uploads%2Fmy+doc.txt")
    notifications.quote_plus = functools.partial(urllib.parse.quote_plus, safe="/")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--lambda-log", type=Path, required=True)
    parser.add_argument("--lambda-work-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    args.lambda_work_dir.mkdir(parents=True, exist_ok=True)
    args.lambda_log.parent.mkdir(parents=True, exist_ok=True)
    install(LambdaExecutor(args.lambda_work_dir, args.lambda_log))

    from moto.server import main as moto_main

    moto_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
