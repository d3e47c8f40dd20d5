"""svc_common.readiness: cached, bounded dependency checks; /ready decided by the replica's own checks."""
import threading
import time

from svc_common.errors import ApiError
from svc_common.readiness import OK, UNKNOWN, Dependency, readiness


class Flaky:
    """A check that fails while ``down`` is set, counting its calls (optionally slow)."""

    def __init__(self, delay_s: float = 0.0):
        self.calls = 0
        self.down = False
        self.delay_s = delay_s
        self.release = threading.Event()
        self.release.set()

    def __call__(self):
        self.calls += 1
        self.release.wait(5)
        time.sleep(self.delay_s)
        if self.down:
            raise ConnectionRefusedError("connection refused\nsecond line")


def wait_until(condition, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_first_ask_waits_then_the_result_is_cached_for_ttl():
    check = Flaky()
    dependency = Dependency("db", check, ttl_s=60)
    assert dependency.status(wait_s=2) == OK
    for _ in range(50):
        assert dependency.status() == OK
    assert check.calls == 1


def test_a_stale_state_is_refreshed_in_the_background_without_waiting():
    check = Flaky()
    dependency = Dependency("db", check, ttl_s=0.05)
    assert dependency.status(wait_s=2) == OK
    check.down = True
    check.release.clear()  # the next check hangs until released
    time.sleep(0.1)
    started = time.monotonic()
    assert dependency.status() == OK and dependency.down() is None  # the last known state, at once
    assert time.monotonic() - started < 0.05
    for _ in range(20):  # one check at a time, however many ask
        dependency.status()
    check.release.set()
    wait_until(lambda: dependency.down() is not None)
    assert dependency.down() == "unavailable: connection refused"
    assert check.calls == 2


def test_nothing_known_yet_is_unknown_not_down():
    check = Flaky()
    check.release.clear()
    dependency = Dependency("kafka", check)
    assert dependency.status() == UNKNOWN and dependency.down() is None
    check.release.set()
    wait_until(lambda: dependency.status() == OK)


def test_traffic_reports_override_the_cached_state():
    dependency = Dependency("kafka", Flaky(), ttl_s=60)
    assert dependency.status(wait_s=2) == OK
    dependency.report(RuntimeError("delivery timed out"))
    assert dependency.down() == "unavailable: delivery timed out"
    dependency.report()
    assert dependency.down() is None


def test_readiness_is_decided_by_own_checks_only():
    up, down = Flaky(), Flaky()
    down.down = True
    dependencies = [Dependency("postgres", up), Dependency("kafka", down)]
    body, status = readiness({"app": OK}, dependencies, wait_s=2)
    assert status == 200
    assert body == {"status": "ready", "own": {"app": OK},
                    "dependencies": {"postgres": OK, "kafka": "unavailable: connection refused"}}
    body, status = readiness({"app": OK, "writer": "stopped"}, dependencies)
    assert status == 503 and body["status"] == "unavailable"


def test_the_first_ask_waits_for_all_dependencies_at_once_and_is_bounded():
    slow = [Dependency(f"d{i}", Flaky(delay_s=0.3)) for i in range(4)]
    started = time.monotonic()
    body, _ = readiness({}, slow, wait_s=2)
    assert time.monotonic() - started < 1.0  # in parallel, not 4 x 0.3 s
    assert set(body["dependencies"].values()) == {OK}
    hung = Flaky()
    hung.release.clear()
    started = time.monotonic()
    body, status = readiness({}, [Dependency("hung", hung)], wait_s=0.2)
    assert time.monotonic() - started < 0.5 and status == 200 and body["dependencies"]["hung"] == UNKNOWN
    hung.release.set()


def test_api_error_retryable_follows_the_status_unless_given():
    assert ApiError("x", status=503).retryable and ApiError("x", status=504).retryable
    assert not ApiError("x", status=400).retryable and not ApiError("x", status=500).retryable
    assert not ApiError("not configured", status=503, retryable=False).retryable
