"""What HAProxy answers itself (no ready replica, timeouts) is JSON of the services' error shape."""

import json
import re
import shutil
import socket
import subprocess
import threading
import time

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


@pytest.fixture
def running(gateway):
    """HAProxy running on the gateway's config (``timeout server`` 1 s instead of 60 s)."""
    config = gateway.conf_dir / "haproxy.cfg"
    config.write_text(re.sub(r"timeout server \S+", "timeout server 1s", config.read_text()))
    log = gateway.conf_dir / "haproxy.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(gateway.processes()[0].command, stdout=out, stderr=subprocess.STDOUT)

    def get(url: str, **kwargs):
        def answer():
            if proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {log.read_text()[-1000:]}")
            return [requests.get(url, timeout=5, **kwargs)]  # a list: an error Response is falsy
        [response] = until(answer, timeout=20, what="HAProxy listening", not_yet=(requests.ConnectionError,))
        return response
    yield get
    proc.terminate()
    proc.wait(timeout=10)


class FakeReplica:
    """A replica that is ready (``/ready`` 200) and then misbehaves: ``/slow`` never answers in
    time, ``/garbage`` answers something that is not HTTP, ``/close`` closes without answering."""

    def __init__(self, port: int):
        self.sock = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    @staticmethod
    def _answer(conn):
        with conn:
            line = conn.recv(65536).split(b"\r\n", 1)[0]
            if b" /ready " in line:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            elif b" /slow " in line:
                time.sleep(3)
            elif b" /garbage " in line:
                conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")

    def close(self):
        self.sock.close()


def assert_gateway_json(response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    reason, message, retryable = GATEWAY_ERRORS[status]
    assert response.json() == {"error": message, "field": None, "retryable": retryable}


def test_no_ready_replica_is_a_retryable_503_json(gateway, running):
    service = gateway.services()[0]  # no replica runs: every server is down
    response = running(f"http://127.0.0.1:{service.port}/anything")
    assert_gateway_json(response, 503)
    assert response.json() == {"error": "no ready replica of the service, retry", "field": None, "retryable": True}


def test_a_ready_replica_that_times_out_or_answers_garbage_is_json(gateway, running):
    service = gateway.services()[0]
    replica = FakeReplica(service.replica_port(0))
    try:
        base = f"http://127.0.0.1:{service.port}"
        until(lambda: running(f"{base}/close").status_code != 503, timeout=20, what="the replica checked ready")
        assert_gateway_json(running(f"{base}/slow"), 504)
        assert_gateway_json(running(f"{base}/garbage"), 502)
        assert_gateway_json(running(f"{base}/close"), 502)
    finally:
        replica.close()


def _haproxy_version() -> tuple[int, int]:
    out = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout
    major, minor = re.search(r"version (\d+)\.(\d+)", out).groups()
    return int(major), int(minor)


def test_an_unparsable_request_is_json_where_haproxy_allows(gateway, running):
    """HAProxy before 3.3 answers errors of its HTTP/1 layer (before a request is parsed) with its
    built-in HTML whatever the errorfiles say (haproxy/haproxy#3032): a limit of that version."""
    service = gateway.services()[0]
    running(f"http://127.0.0.1:{service.port}/anything")  # listening
    with socket.create_connection(("127.0.0.1", service.port), timeout=5) as sock:
        sock.sendall(b"NOT A REQUEST\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    if _haproxy_version() < (3, 3):
        pytest.xfail(f"HAProxy {_haproxy_version()} ignores errorfiles for its HTTP/1 layer's own errors")
    assert json.loads(body) == {"error": GATEWAY_ERRORS[400][1], "field": None, "retryable": False}
