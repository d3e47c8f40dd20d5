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
- Order: two fixed lanes, one per worker (``_lane``), each in ``_schedule_key`` order; the Kafka
  fault, which stops everything, goes first (``_first_fault_flag``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path

import pytest

from sandbox.poll import until
from scenarios.lib import report as scenario_report
from scenarios.lib.locks import domain_locks
from scenarios.targets import get_target

PROJECT = Path(__file__).resolve().parents[1]
TARGET_NAME = os.environ.get("SCENARIO_TARGET", "sandbox")

# what a test needs undisturbed unless it says otherwise (`uses`): the booking path
DEFAULT_USES = ("kafka", "postgres", "booking-consumer")
# faults in the order they run: the Kafka fault blocks every other test, so it goes first; the
# Flink fault next, so the booking faults and flows overlap it
FAULT_ORDER = ("kafka", "flink", "postgres", "booking-consumer", "kubelet")  # kubelet: cluster mode only
# the fault every other test waits for before taking its locks (see _isolation): it stops everything
FIRST_FAULT = "kafka"
UP_FLAG = "SCENARIO_UP_FLAG"  # set by the controller for its workers: file written when the target is up


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
    config.pluginmanager.register(_LoadgroupShim(), "scenario-loadgroup-shim")


class _LoadgroupShim:
    """pytest 9.2 builds ``nodeid`` from a structured id, so xdist 3.8's ``--dist loadgroup``
    (it appends ``@group`` to the legacy ``_nodeid``) silently groups nothing (pytest-xdist#1386):
    copy the suffixed id into the structured one, after xdist's hook. No-op on older pytest."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        try:
            from _pytest.nodeid import coerce_node_id
        except ImportError:
            return
        for item in items:
            legacy = getattr(item, "_nodeid", None)
            if isinstance(legacy, str) and legacy != item.nodeid and hasattr(item, "_id"):
                item._id = coerce_node_id(legacy)


def _uses(item) -> tuple[str, ...]:
    marker = item.get_closest_marker("uses")
    return tuple(marker.args) if marker else DEFAULT_USES


def _schedule_key(item) -> tuple[int, int]:
    """Order within a lane: instant checks, faults (FAULT_ORDER), flows, and last the tests that
    need the Flink job (they cannot overlap the Flink fault's cancel/kill)."""
    if item.get_closest_marker("pure"):
        return (0, 0)
    fault = item.get_closest_marker("fault")
    if fault:
        return (1, FAULT_ORDER.index(fault.args[0]))
    return (3 if "flink" in _uses(item) else 2, 0)


def _lane(item) -> str:
    """Two lanes, one per worker (`--dist loadgroup` gives each xdist group to one worker), so the
    schedule does not depend on xdist's hand-out: lane "a" runs the Kafka fault (alone: it stops
    everything), the Flink fault, then the flows; lane "b" the Postgres and consumer faults beside
    the Flink fault, then the Flink job's own tests, which start when the Flink fault has healed
    and only waits for its windows (it downgrades its lock, see `share_lock`)."""
    fault = item.get_closest_marker("fault")
    if fault:
        return "a" if fault.args[0] in ("kafka", "flink") else "b"
    return "b" if item.get_closest_marker("pure") or "flink" in _uses(item) else "a"


def _is_first_fault(item) -> bool:
    fault = item.get_closest_marker("fault")
    return bool(fault and fault.args[0] == FIRST_FAULT)


@pytest.hookimpl(tryfirst=True)  # before xdist's loadgroup hook reads the groups
def pytest_collection_modifyitems(config, items):
    items.sort(key=_schedule_key)  # stable: file order within a rank
    for item in items:
        item.add_marker(pytest.mark.xdist_group(f"lane-{_lane(item)}"))


def pytest_collection_finish(session):
    """After -k/-m deselection: is the fault the others wait for (``_first_fault_flag``) in this run?"""
    session.config._scenario["first_fault_selected"] = any(_is_first_fault(i) for i in session.items)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    """Controller only: bring the target up once. Under xdist in a thread, so the workers start and
    collect meanwhile (seconds on 2 cores); they wait for its flag file (``_wait_for_up``)."""
    config = session.config
    if _is_worker(config) or os.environ.get("SCENARIO_SKIP_UP") == "1":
        return
    info = config._scenario

    def bring_up(flag: Path | None = None) -> None:
        t0 = time.monotonic()
        outcome = "ok"
        try:
            info["started_target"] = get_target(TARGET_NAME).ensure_up()
        except Exception as exc:
            if flag is None:
                raise
            outcome = f"{type(exc).__name__}: {exc}"[-3000:]
        finally:
            info["up_seconds"] = round(time.monotonic() - t0, 1)
            if flag is not None:
                flag.write_text(outcome)

    if not config.pluginmanager.has_plugin("dsession"):  # no xdist: inline, as before
        bring_up()
        return
    flag = Path(tempfile.mkdtemp(prefix="scenario-up-")) / "done"
    os.environ[UP_FLAG] = str(flag)  # the workers inherit it (they start after this hook)
    info["up_thread"] = threading.Thread(target=bring_up, args=(flag,), daemon=True)
    info["up_thread"].start()


_UP_WAIT: dict[str, float] = {}  # seconds this worker waited for the bring-up, reported once


def _wait_for_up(timeout: float = 900) -> None:
    """Workers: wait until the controller's bring-up is done; fail every test that needs it if it failed."""
    flag = os.environ.get(UP_FLAG)
    if not flag:
        return
    t0 = time.monotonic()
    try:
        until(lambda: os.path.exists(flag), timeout=timeout, what="the bring-up's flag file", interval=0.1)
    except TimeoutError:
        pytest.fail(f"the target was not up after {timeout:.0f}s")
    _UP_WAIT["s"] = round(time.monotonic() - t0, 1)
    outcome = Path(flag).read_text()
    if outcome != "ok":
        pytest.fail(f"bringing the target up failed: {outcome}", pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if _is_worker(config):
        return
    info = config._scenario
    if info.get("up_thread"):
        info.pop("up_thread").join(900)
        shutil.rmtree(Path(os.environ.pop(UP_FLAG)).parent, ignore_errors=True)
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
    _wait_for_up()
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


@pytest.fixture(scope="session")
def created(endpoints):
    """What the scenarios made on the target (``scenarios.lib.cleanup``), removed when this process's
    session ends, not after each test: by then no fault is rewinding the booking consumer over their
    bookings."""
    from scenarios.lib.cleanup import new_made, remove_made

    made = new_made()
    yield made
    remove_made(endpoints, made)


@pytest.fixture
def new_event(api, uid, created):
    """Factory: a fresh event with ``capacity`` seats (event-catalog POST /events), removed at the end."""
    def make(capacity: int) -> dict:
        event = api.create_event(capacity, f"Scenario {uid} {uuid.uuid4().hex[:6]}")
        created["events"].append(event["id"])
        return event
    return make


@pytest.fixture
def new_user(api, uid, created):
    """Factory: a registered user (POST /api/users) with a unique email, removed at the end."""
    def make(name: str = "Ada Scenario") -> dict:
        r = api.post("/api/users", json={"name": name, "email": f"{uid}.{uuid.uuid4().hex[:6]}@example.com"})
        assert r.status_code == 201, (r.status_code, r.text)
        created["users"].append(r.json())
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
    if "s" in _UP_WAIT:  # the session fixtures waited for the bring-up in this test's setup
        request.node.user_properties.append(("up_wait_s", _UP_WAIT.pop("s")))
    fault = request.node.get_closest_marker("fault")
    exclusive = [fault.args[0]] if fault else []
    folder = Path(tempfile.gettempdir()) / f"scenario-locks-{os.getuid()}-{TARGET_NAME}-" \
        f"{Path(os.environ.get('SANDBOX_STATE_DIR', PROJECT / '.sandbox')).resolve().name}"
    t0 = time.monotonic()
    request.node.user_properties.append(("started_at", time.time()))
    first, run_id = _first_fault_flag(request, folder)
    if first and not _is_first_fault(request.node):
        _wait_for_flag(first, run_id)
    with domain_locks(folder, exclusive, list(_uses(request.node))) as held:
        if first and _is_first_fault(request.node):
            first.write_text(run_id)
        request.node.user_properties.append(("lock_wait_s", round(time.monotonic() - t0, 1)))
        request.node._scenario_locks = held
        yield


def _first_fault_flag(request, folder: Path) -> tuple[Path | None, str]:
    """Under xdist the other lane could take a shared Kafka lock before the Kafka fault takes its
    exclusive one, and the fault that stops everything would then wait instead of going first: the
    fault writes this run's id into a flag file once it holds its locks, and the others wait for it."""
    config = request.config
    if not _is_worker(config) or not config._scenario.get("first_fault_selected"):
        return None, ""
    return folder / "first-fault.started", config.workerinput["testrunuid"]


def _wait_for_flag(flag: Path, run_id: str, timeout: float = 120) -> None:
    with suppress(TimeoutError):  # bounded: a fault that errored before its locks
        until(lambda: flag.exists() and flag.read_text() == run_id, timeout=timeout, what="the first fault's flag",
              interval=0.05)


@pytest.fixture
def share_lock(request):
    """``share_lock("flink")``: this fault test is over disturbing the component but still needs it
    undisturbed (e.g. waiting for windows to close); tests that only use it may now start."""
    return lambda name: request.node._scenario_locks.share(name)


# --------------------------------------------------------------------------- report
def pytest_runtest_logreport(report):
    scenario_report.collect(report)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _is_worker(config):
        return
    path = Path(os.environ.get("SCENARIO_REPORT", PROJECT / "reports" / "scenarios.json"))
    scenario_report.finish(terminalreporter, config, TARGET_NAME, path)
