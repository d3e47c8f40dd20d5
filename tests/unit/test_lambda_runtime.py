"""The executor's pools and Runtime API server with the pure-Python fallback client
(sandbox/lambda_runtime.py), without moto: a FunctionSpec in, a Result out."""

import hashlib
import io
import json
import shutil
import sys
import zipfile

import pytest

from sandbox import lambda_executor, lambda_runtimes

PYTHON = getattr(sys, "_base_executable", sys.executable)


def _zip(code: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler_mod.py", code)
    return buffer.getvalue()


def _spec(code: str, timeout: float = 5, reserved=None) -> lambda_executor.FunctionSpec:
    data = _zip(code)
    return lambda_executor.FunctionSpec(
        name="fn", arn="arn:aws:lambda:us-east-1:123456789012:function:fn", version="$LATEST", runtime="python3.11",
        handler="handler_mod.handle", timeout=timeout, memory_size=128, region="us-east-1",
        code_sha256=hashlib.sha256(data).hexdigest(), code=lambda: data, reserved_concurrency=reserved)


@pytest.fixture
def executor(tmp_path):
    warnings = []
    executor = lambda_executor.Executor(tmp_path / "work", tmp_path / "cache", {"PATH": "/usr/bin:/bin"}, warnings.append)
    # the fallback client on the bare interpreter (-S: not even its own site-packages)
    executor._runtimes["python3.11"] = lambda_runtimes.Runtime(
        "python3.11", [PYTHON, "-s", "-S", str(lambda_runtimes.PY_CLIENT)], kind="python")
    yield executor
    executor.shutdown()


def test_result_and_prints_come_back_and_the_environment_stays_warm(executor):
    spec = _spec("import os\nN = 0\ndef handle(event, context):\n    global N\n    N += 1\n    print('log line', N)\n"
                 "    return {'got': event['x'], 'fn': context.function_name, 'n': N, 'pid': os.getpid()}\n")
    first = executor.invoke(spec, b'{"x": 7}')
    second = executor.invoke(spec, b'{"x": 8}')
    assert first.status == "ok" and first.function_error is None and first.init_ms is not None
    assert json.loads(first.payload) == {"got": 7, "fn": "fn", "n": 1, "pid": json.loads(first.payload)["pid"]}
    assert json.loads(second.payload)["n"] == 2 and second.init_ms is None
    assert json.loads(second.payload)["pid"] == json.loads(first.payload)["pid"]
    assert "log line 1" in first.logs and "log line 2" in second.logs and "log line 1" not in second.logs


def test_handler_exception_becomes_awss_error_payload(executor):
    result = executor.invoke(_spec("def handle(event, context):\n    raise ValueError('bad upload')\n"), b"{}")
    assert result.function_error == "Unhandled" and result.status == "error"
    payload = json.loads(result.payload)
    assert payload["errorMessage"] == "bad upload" and payload["errorType"] == "ValueError"
    assert payload["requestId"] == result.request_id and "raise ValueError" in "".join(payload["stackTrace"])
    assert "Traceback" in result.logs


def test_import_error_is_an_init_error(executor):
    result = executor.invoke(_spec("import no_such_module_here\n"), b"{}")
    assert result.function_error == "Unhandled"
    assert json.loads(result.payload)["errorType"] == "Runtime.ImportModuleError"
    assert executor.environments() == []


def test_timeout_kills_the_environment(executor):
    spec = _spec("import time\ndef handle(event, context):\n    time.sleep(30)\n", timeout=0.5)
    result = executor.invoke(spec, b"{}")
    assert result.status == "timeout" and result.function_error == "Unhandled"
    assert json.loads(result.payload)["errorMessage"].endswith("Task timed out after 0.50 seconds")
    assert executor.environments() == []


def test_reserved_concurrency_zero_throttles(executor):
    with pytest.raises(lambda_executor.Throttled) as raised:
        executor.invoke(_spec("def handle(e, c):\n    return 1\n", reserved=0), b"{}")
    assert raised.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_nearest_interpreter():
    present = [(3, 9), (3, 11), (3, 13)]
    assert lambda_runtimes.nearest((3, 11), present) == (3, 11)
    assert lambda_runtimes.nearest((3, 12), present) == (3, 13)  # a tie goes to the newer
    assert lambda_runtimes.nearest((3, 10), present) == (3, 11)
    assert lambda_runtimes.nearest((3, 14), present) == (3, 13)
    assert lambda_runtimes.nearest((4, 0), present) is None


@pytest.mark.skipif(not shutil.which("node"), reason="no node on this machine")
@pytest.mark.parametrize("filename, source", [
    ("index.js", "let n = 0;\nexports.handler = async (event, context) => {\n"
                 "  n += 1; console.log('js log', n);\n  if (event.fail) throw new RangeError('too far');\n"
                 "  return {n, got: event.x, fn: context.functionName};\n};\n"),
    ("index.mjs", "let n = 0;\nexport const handler = (event, context, callback) => {\n"
                  "  n += 1; console.log('js log', n);\n  if (event.fail) return callback(new RangeError('too far'));\n"
                  "  callback(null, {n, got: event.x, fn: context.functionName});\n};\n"),
])
def test_the_node_fallback_client(tmp_path, filename, source):
    executor = lambda_executor.Executor(tmp_path / "work", tmp_path / "cache", {"PATH": "/usr/bin:/bin"}, print)
    executor._runtimes["nodejs20.x"] = lambda_runtimes.Runtime(
        "nodejs20.x", [shutil.which("node"), str(lambda_runtimes.NODE_CLIENT)], kind="node")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(filename, source)
    data = buffer.getvalue()
    spec = lambda_executor.FunctionSpec(
        name="js", arn="arn:aws:lambda:us-east-1:123456789012:function:js", version="$LATEST", runtime="nodejs20.x",
        handler="index.handler", timeout=5, memory_size=128, region="us-east-1", code_sha256=filename, code=lambda: data)
    try:
        first, second = executor.invoke(spec, b'{"x": 1}'), executor.invoke(spec, b'{"x": 2}')
        assert json.loads(first.payload) == {"n": 1, "got": 1, "fn": "js"} and json.loads(second.payload)["n"] == 2
        assert "js log 2" in second.logs
        failed = executor.invoke(spec, b'{"fail": true}')
        error = json.loads(failed.payload)
        assert failed.function_error == "Unhandled" and error["errorType"] == "RangeError"
        assert error["errorMessage"] == "too far" and isinstance(error["trace"], list)
    finally:
        executor.shutdown()
