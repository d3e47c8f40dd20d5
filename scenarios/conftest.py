"""Scenario plugin: one running system per run, endpoints as fixtures, isolation for `pytest -n 2`,
and a summary (table + `reports/scenarios.json`).

- Target: ``SCENARIO_TARGET`` (default ``sandbox``, the only one implemented; see targets/).
  The controller process brings it up once (or reuses a healthy one) before the xdist workers
  start, and stops it at the end only if it started it (``SCENARIO_KEEP=1`` keeps it running).
- Isolation: every test creates its own event(s), users, idempotency keys and S3 keys (``uid``).
  Locks are per shared component: a fault test (``@pytest.mark.fault("kafka")``) holds its
  component exclusively, every test holds the components it needs shared (``@pytest.mark.uses``,
  default the booking path), so a fault never hits a test that needs what it breaks, while
  faults on disjoint components (the Flink job vs Postgres) overlap.
- Order: tests are handed to the workers longest-blocking first (see ``_schedule_key``).
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from scenarios.lib import report as scenario_report
from scenarios.lib.locks import domain_locks
from scenarios.targets import get_target

PROJECT = Path(__file__).resolve().parents[1]
TARGET_NAME = os.environ.get("SCENARIO_TARGET", "sandbox")

# what a test needs undisturbed unless it says otherwise (`uses`): the booking path
DEFAULT_USES = ("kafka", "postgres", "booking-consumer")
# faults in the order they are handed out: the Kafka fault blocks every other test, so it goes
# first; the Flink fault next, so the booking faults and flows overlap it on the other worker
FAULT_ORDER = ("kafka", "flink", "postgres", "booking-consumer")
# one worker runs these one after the other (xdist group): were the Flink fault handed to the
# other worker at the start, it would take Kafka's shared lock first and the Kafka fault, which
# stops everything, would wait for it instead of running first
FIRST_ON_ONE_WORKER = ("kafka", "flink")


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    for line in (
        "validated(*targets): the targets this scenario has been run green against",
        "fault(component): disturbs a shared component (held exclusively while the test runs)",
        "uses(*components): shared components this test needs undisturbed (default: kafka, postgres, booking-consumer)",
        "pure: needs no running system",
        "xdist_group(name): same-worker group under --dist loadgroup (also registered by pytest-xdist)",
    ):
        config.addinivalue_line("markers", line)
    config._scenario = {"started_at": time.time(), "up_seconds": None, "started_target": False}


def _uses(item) -> tuple[str, ...]:
    marker = item.get_closest_marker("uses")
    return tuple(marker.args) if marker else DEFAULT_USES


def _schedule_key(item) -> tuple[int, int]:
    """xdist hands tests out in collection order: instant checks, then the faults (the Kafka one
    blocks everything, the Flink one is longest and overlaps others), then flows, and last the
    tests that need the Flink job (they cannot overlap the Flink fault)."""
    if item.get_closest_marker("pure"):
        return (0, 0)
    fault = item.get_closest_marker("fault")
    if fault:
        return (1, FAULT_ORDER.index(fault.args[0]))
    return (3 if "flink" in _uses(item) else 2, 0)


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup hook reads the groups
def pytest_collection_modifyitems(config, items):
    items.sort(key=_schedule_key)  # stable: file order within a rank
    for item in items:
        fault = item.get_closest_marker("fault")
        if fault and fault.args[0] in FIRST_ON_ONE_WORKER:
            item.add_marker(pytest.mark.xdist_group("first"))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Controller only: bring the target up before any worker starts (xdist starts them later)."""
    config = session.config
    if _is_worker(config) or os.environ.get("SCENARIO_SKIP_UP") == "1":
        return
    target = get_target(TARGET_NAME)
    t0 = time.monotonic()
    config._scenario["started_target"] = target.ensure_up()
    config._scenario["up_seconds"] = round(time.monotonic() - t0, 1)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if _is_worker(config):
        return
    info = config._scenario
    if info["started_target"] and os.environ.get("SCENARIO_KEEP") != "1":
        t0 = time.monotonic()
        try:
            get_target(TARGET_NAME).teardown()
        except Exception as exc:  # keep the report; say so loudly and fail the run
            info["teardown_error"] = str(exc)[-1500:]
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        info["down_seconds"] = round(time.monotonic() - t0, 1)
    info["wall_seconds"] = round(time.time() - info["started_at"], 1)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def target():
    return get_target(TARGET_NAME)


@pytest.fixture(scope="session")
def endpoints(target) -> dict[str, str]:
    return target.endpoints()


@pytest.fixture(scope="session")
def window_seconds(endpoints) -> int:
    return int(endpoints.get("ANALYTICS_WINDOW_SECONDS", "60"))


@pytest.fixture
def uid(request) -> str:
    """A short id unique to this test run, for names, emails, user ids, keys."""
    return f"sc{uuid.uuid4().hex[:12]}"


@pytest.fixture
def api(endpoints):
    from scenarios.lib.clients import Api

    return Api(endpoints)


@pytest.fixture(scope="session")
def db(endpoints):
    from scenarios.lib.clients import Db

    return Db(endpoints)


@pytest.fixture(scope="session")
def kafka(endpoints):
    from scenarios.lib.clients import Kafka

    return Kafka(endpoints)


@pytest.fixture
def new_event(api, uid):
    """Factory: a fresh event with ``capacity`` seats (event-catalog POST /events)."""
    def make(capacity: int) -> dict:
        return api.create_event(capacity, f"Scenario {uid} {uuid.uuid4().hex[:6]}")
    return make


@pytest.fixture
def new_user(api, uid):
    """Factory: a registered user (POST /api/users) with a unique email."""
    def make(name: str = "Ada Scenario") -> dict:
        r = api.post("/api/users", json={"name": name, "email": f"{uid}.{uuid.uuid4().hex[:6]}@example.com"})
        assert r.status_code == 201, (r.status_code, r.text)
        return r.json()
    return make


@pytest.fixture(autouse=True)
def _isolation(request):
    """Exclusive lock on the faulted component, shared ones on what the test uses (module docstring)."""
    validated = sorted({t for m in request.node.iter_markers("validated") for t in m.args})
    request.node.user_properties.append(("validated", validated))
    if request.node.get_closest_marker("pure"):
        yield
        return
    fault = request.node.get_closest_marker("fault")
    exclusive = [fault.args[0]] if fault else []
    folder = Path(tempfile.gettempdir()) / f"scenario-locks-{os.getuid()}-{TARGET_NAME}-" \
        f"{Path(os.environ.get('SANDBOX_STATE_DIR', PROJECT / '.sandbox')).resolve().name}"
    t0 = time.monotonic()
    request.node.user_properties.append(("started_at", time.time()))
    with domain_locks(folder, exclusive, list(_uses(request.node))):
        request.node.user_properties.append(("lock_wait_s", round(time.monotonic() - t0, 1)))
        yield


# --------------------------------------------------------------------------- report
def pytest_runtest_logreport(report):
    scenario_report.collect(report)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _is_worker(config):
        return
    path = Path(os.environ.get("SCENARIO_REPORT", PROJECT / "reports" / "scenarios.json"))
    scenario_report.finish(terminalreporter, config, TARGET_NAME, path)
