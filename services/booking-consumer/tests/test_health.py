"""Readiness of the consumer: its own loop and relay decide; Postgres and Kafka are reported (no servers)."""
import time
from types import SimpleNamespace

from booking_consumer.health import readiness_of

from svc_common.readiness import Dependency


def dependency(name: str, error: str | None) -> Dependency:
    def check():
        if error:
            raise ConnectionRefusedError(error)
    return Dependency(name, check)


class Relay:
    def __init__(self, alive: bool):
        self.alive = alive

    def is_alive(self) -> bool:
        return self.alive


def test_ready_while_dependencies_are_down_and_says_so():
    consumer = SimpleNamespace(last_loop=time.monotonic())
    deps = [dependency("postgres", "connection refused"), dependency("kafka", None)]
    ok, body = readiness_of(consumer, Relay(True), deps, wait_s=2)
    assert ok
    assert body == {"status": "ready", "own": {"consume-loop": "ok", "outbox-relay": "ok"},
                    "dependencies": {"postgres": "unavailable: connection refused", "kafka": "ok"}}


def test_not_ready_when_its_own_loop_stalls_or_relay_stops():
    deps = [dependency("postgres", None)]
    ok, body = readiness_of(SimpleNamespace(last_loop=time.monotonic() - 120), Relay(True), deps, wait_s=2)
    assert not ok and body["own"]["consume-loop"].startswith("stalled: ")
    ok, body = readiness_of(SimpleNamespace(last_loop=time.monotonic()), Relay(False), deps, wait_s=2)
    assert not ok and body["own"]["outbox-relay"] == "stopped" and body["status"] == "unavailable"


def test_a_client_that_hangs_up_leaves_no_traceback(capfd):
    """A probe that times out resets its connection while the server answers: nothing on stderr."""
    import socket
    import struct

    from booking_consumer.health import HealthServer

    class App:
        def liveness(self):
            time.sleep(0.3)  # the client is gone by the time the answer is written
            return True, {"status": "ok"}

    server = HealthServer("127.0.0.1", 0, App())
    server.start()
    try:
        for _ in range(3):
            client = socket.create_connection(("127.0.0.1", server.port))
            client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
            client.close()
        time.sleep(1)
    finally:
        server.stop()
    assert "Traceback" not in capfd.readouterr().err
