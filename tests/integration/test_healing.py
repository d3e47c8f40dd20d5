"""`up` is idempotent and heals: a killed component shows in `status` and only it is restarted."""

import os
import signal
import time

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
    assert all(r["healthy"] for r in status_json())


def test_killed_taskmanager_restarts_without_touching_the_jobmanager(sandbox_env):
    jobmanager, taskmanager = _pids()["flink"]
    os.killpg(taskmanager, signal.SIGKILL)
    time.sleep(0.5)
    assert sandbox_cli("status", check=False).returncode == 1
    sandbox_cli("up")
    new_jobmanager, new_taskmanager = _pids()["flink"]
    assert new_jobmanager == jobmanager and new_taskmanager != taskmanager


def test_crashed_service_is_restarted_by_the_monitor(sandbox_env):
    import requests

    before = _pids()["booking-service"]
    os.killpg(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = {r["component"]: r for r in status_json()}["booking-service"]
        if row["healthy"] and row["pids"] != before:
            break
        time.sleep(0.5)
    assert row["healthy"] and row["pids"] != before
    assert requests.get(f"{sandbox_env['BOOKING_SERVICE_URL']}/health", timeout=5).ok
