import json
import subprocess
import sys


def _invoke(tmp_path, code: str, event: dict):
    (tmp_path / "handler_mod.py").write_text(code)
    return subprocess.run(
        [sys.executable, "-m", "sandbox.lambda_runtime", "handler_mod.handle"],
        input=json.dumps(event).encode(), capture_output=True, cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "AWS_LAMBDA_FUNCTION_NAME": "fn", "PATH": "/usr/bin:/bin"},
    )


def test_result_is_the_last_stdout_line_and_prints_go_to_logs(tmp_path):
    code = "def handle(event, context):\n    print('log line')\n    return {'got': event['x'], 'fn': context.function_name}\n"
    proc = _invoke(tmp_path, code, {"x": 7})
    assert proc.returncode == 0
    assert json.loads(proc.stdout.decode().splitlines()[-1]) == {"got": 7, "fn": "fn"}
    assert "log line" in proc.stderr.decode()


def test_handler_exception_becomes_error_payload(tmp_path):
    proc = _invoke(tmp_path, "def handle(event, context):\n    raise ValueError('bad upload')\n", {})
    assert proc.returncode == 1
    payload = json.loads(proc.stdout.decode().splitlines()[-1])
    assert payload == {"errorMessage": "bad upload", "errorType": "ValueError"}
    assert "Traceback" in proc.stderr.decode()
