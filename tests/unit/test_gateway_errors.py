"""What HAProxy answers itself (no ready replica, timeouts) is JSON of the services' error shape."""

import json
import shutil
import subprocess

import pytest
import requests

from sandbox.components.gateway import GATEWAY_ERRORS, Gateway
from sandbox.instances import shifted_env
from sandbox.poll import until
from sandbox.settings import load_settings
from sandbox.state import StateDir

pytestmark = pytest.mark.skipif(not shutil.which("haproxy"), reason="haproxy not installed (make system-deps)")


@pytest.fixture
def gateway(tmp_path, monkeypatch):
    for key, value in shifted_env(700, replica_base=18700).items():  # clear of a running sandbox
        monkeypatch.setenv(key, value)
    settings = load_settings(state_dir=tmp_path / "state")
    state = StateDir(settings.state_dir)
    state.ensure()
    gateway = Gateway(settings, state)
    gateway.prepare()
    return gateway


def test_every_error_page_is_a_whole_http_response_with_a_json_body(gateway):
    for code in GATEWAY_ERRORS:
        head, _, body = (gateway.errors_dir / f"{code}.http").read_bytes().partition(b"\r\n\r\n")
        assert head.startswith(f"HTTP/1.1 {code} ".encode()) and b"Content-Type: application/json" in head
        payload = json.loads(body)
        assert set(payload) == {"error", "field", "retryable"} and payload["field"] is None
    config = gateway.conf_dir / "haproxy.cfg"
    assert subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True).returncode == 0


def test_no_ready_replica_is_a_retryable_503_json(gateway):
    spec = gateway.processes()[0]
    log = gateway.conf_dir / "haproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(spec.command, stdout=out, stderr=subprocess.STDOUT)
    try:
        service = gateway.services()[0]  # no replica runs: every server is down
        url = f"http://127.0.0.1:{service.port}/anything"

        def answer():
            if proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {log.read_text()[-1000:]}")
            return [requests.get(url, timeout=2)]  # a list: a 503 Response is falsy

        [response] = until(answer, timeout=20, what="HAProxy listening", not_yet=(requests.ConnectionError,))
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"error": "no ready replica of the service, retry", "field": None, "retryable": True}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
