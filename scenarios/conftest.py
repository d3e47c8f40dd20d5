"""Scenario plugin: one running system per run, endpoints as fixtures, isolation for `pytest -n 2`,
and a summary (table + `reports/scenarios.json`).

- Target: ``SCENARIO_TARGET`` (default ``sandbox``, the only one implemented; see targets/).
  The controller process brings it up once (or reuses a healthy one) before the xdist workers
  start, and stops it at the end only if it started it (``SCENARIO_KEEP=1`` keeps it running).
- Isolation: every test creates its own event(s), users, idempotency keys and S3 keys (``uid``).
  Fault tests (``@pytest.mark.fault("kafka")``) take an exclusive lock on the parts they disturb;
  the other tests hold a shared lock on what they use (``@pytest.mark.uses(...)``, default
  ``booking``), so a fault never hits a flow test running on the other worker.
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

# which shared parts each fault disturbs (exclusive lock while it runs)
FAULT_DOMAINS = {
    "kafka": ("booking", "analytics"),
    "postgres": ("booking",),
    "booking-consumer": ("booking",),
    "flink": ("analytics",),
}


def _is_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    for line in (
        "validated(*targets): the targets this scenario has been run green against",
        "fault(component): disturbs a shared component; runs alone (exclusive lock, xdist group 'faults')",
        "uses(*domains): shared parts this test needs undisturbed (default: booking)",
        "pure: needs no running system",
        "xdist_group(name): same-worker group under --dist loadgroup (also registered by pytest-xdist)",
    ):
        config.addinivalue_line("markers", line)
    config._scenario = {"started_at": time.time(), "up_seconds": None, "started_target": False}


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup hook reads the group
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("fault"):
            item.add_marker(pytest.mark.xdist_group("faults"))


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
    """Shared lock for flow tests, exclusive for fault tests (see module docstring)."""
    validated = sorted({t for m in request.node.iter_markers("validated") for t in m.args})
    request.node.user_properties.append(("validated", validated))
    if request.node.get_closest_marker("pure"):
        yield
        return
    fault = request.node.get_closest_marker("fault")
    if fault:  # "faults": two fault tests never overlap, whatever the scheduling
        domains, exclusive = ["faults", *FAULT_DOMAINS[fault.args[0]]], True
    else:
        uses = request.node.get_closest_marker("uses")
        domains, exclusive = list(uses.args if uses else ("booking",)), False
    folder = Path(tempfile.gettempdir()) / f"scenario-locks-{os.getuid()}-{TARGET_NAME}-" \
        f"{Path(os.environ.get('SANDBOX_STATE_DIR', PROJECT / '.sandbox')).resolve().name}"
    t0 = time.monotonic()
    with domain_locks(folder, domains, exclusive):
        request.node.user_properties.append(("lock_wait_s", round(time.monotonic() - t0, 1)))
        yield


# --------------------------------------------------------------------------- report
def pytest_runtest_logreport(report):
    scenario_report.collect(report)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _is_worker(config):
        return
    scenario_report.finish(terminalreporter, config, TARGET_NAME, PROJECT / "reports" / "scenarios.json")
