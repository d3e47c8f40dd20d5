"""`up` is idempotent and heals: a killed component shows in `status` and only it is restarted."""

import os
import signal
import threading
import time
import uuid
from contextlib import contextmanager

import requests

from sandbox.orchestrator import Sandbox
from sandbox.poll import until
from sandbox.settings import settings
from tests.integration.conftest import sandbox_cli, status_json


def _pids():
    return {r["component"]: r["pids"] for r in status_json()}


def test_warm_up_reuses_every_component(sandbox_env):
    before = _pids()
    output = sandbox_cli("up").stdout
    assert output.count("reused") == len(before)
    assert _pids() == before


def test_killed_component_is_reported_then_healed_alone(sandbox_env):
    before = _pids()
    os.killpg(before["gcs"][0], signal.SIGKILL)
    time.sleep(0.5)
    result = sandbox_cli("status", check=False)
    assert result.returncode == 1
    rows = {r["component"]: r for r in status_json()}
    assert not rows["gcs"]["healthy"] and rows["kafka"]["healthy"]

    sandbox_cli("up")
    after = _pids()
    assert after["gcs"] != before["gcs"]
    assert {k: v for k, v in after.items() if k != "gcs"} == {k: v for k, v in before.items() if k != "gcs"}
    unhealthy = {r["component"]: r["health"] for r in status_json() if not r["healthy"]}
    assert not unhealthy


def test_killed_taskmanager_restarts_without_touching_the_jobmanager(sandbox_env):
    jobmanager, taskmanager = _pids()["flink"]
    os.killpg(taskmanager, signal.SIGKILL)
    time.sleep(0.5)
    assert sandbox_cli("status", check=False).returncode == 1
    sandbox_cli("up")
    new_jobmanager, new_taskmanager = _pids()["flink"]
    assert new_jobmanager == jobmanager and new_taskmanager != taskmanager


def test_crashed_service_is_restarted_by_the_monitor(sandbox_env):
    before = _pids()["booking-service"]
    os.killpg(before[0], signal.SIGKILL)

    def restarted() -> bool:
        row = {r["component"]: r for r in status_json()}["booking-service"]
        return row["healthy"] and row["pids"] != before

    until(restarted, timeout=30, what="booking-service restarted and healthy", interval=0.5)
    assert requests.get(f"{sandbox_env['BOOKING_SERVICE_URL']}/health", timeout=5).ok


@contextmanager
def bookings_flowing(sandbox_env, made_events: list[int], name: str):
    """4 threads posting bookings through the frontend (POSTs, which the gateway never retries)
    until the block ends; yields the list of status codes."""
    event = requests.post(f"{sandbox_env['EVENT_SERVICE_URL']}/events", timeout=10, json={
        "name": name, "date": "2030-01-01", "venue": "loopback", "capacity": 100_000}).json()
    made_events.append(event["id"])
    url = f"{sandbox_env['FRONTEND_URL']}/api/book"
    statuses: list[int] = []
    stop = threading.Event()

    def traffic():
        with requests.Session() as session:
            while not stop.is_set() and len(statuses) < 20_000:  # bounded
                statuses.append(session.post(url, timeout=10, headers={"Idempotency-Key": str(uuid.uuid4())}, json={
                    "event_id": event["id"], "user_id": name, "ticket_count": 1}).status_code)

    workers = [threading.Thread(target=traffic) for _ in range(4)]
    for w in workers:
        w.start()
    try:
        yield statuses
    finally:
        stop.set()
        for w in workers:
            w.join()


def test_scale_down_under_load_answers_every_request(sandbox_env, made_events):
    """HPA-style scale 2 -> 4 -> 2 -> 4 -> 2 of the frontend while bookings flow through it: the
    stopped replicas leave the gateway first, so not one request gets a 502."""
    sandbox = Sandbox(settings())
    with bookings_flowing(sandbox_env, made_events, "scale-test") as statuses:
        for replicas in (4, 2, 4, 2):
            until(lambda n=replicas: sandbox.scale("frontend", n),  # False while the monitor holds the lock
                  timeout=30, what=f"frontend scaled to {replicas}", interval=0.2)
            time.sleep(1)
    assert len(statuses) > 50
    assert set(statuses) == {202}, {s: statuses.count(s) for s in set(statuses)}


def test_up_rolls_out_changed_code_one_replica_at_a_time(sandbox_env, made_events, monkeypatch):
    """A new revision (here: a changed digest, as an edited source file gives) makes `up` replace
    every replica, one at a time behind the gateway, with no failed request; an unchanged one
    is reused. The real revision is rolled back in at the end."""
    from sandbox.components.service import Service

    sandbox = Sandbox(settings())
    before = set(_pids()["frontend"])
    real = Service.revision
    monkeypatch.setattr(Service, "revision", lambda self: "rollout-test" if self.name == "frontend" else real(self))
    with bookings_flowing(sandbox_env, made_events, "rollout-test") as statuses:
        results = {r.name: r.action for r in sandbox.up("frontend,booking-service")}
        time.sleep(0.5)
    assert results == {"frontend": "rolled out", "booking-service": "reused"}
    after = set(_pids()["frontend"])
    assert len(after) == len(before) and not after & before
    assert len(statuses) > 20
    assert set(statuses) == {202}, {s: statuses.count(s) for s in set(statuses)}
    assert {r.name: r.action for r in sandbox.up("frontend")} == {"frontend": "reused"}
    monkeypatch.undo()
    assert {r.name: r.action for r in sandbox.up("frontend")} == {"frontend": "rolled out"}
