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
