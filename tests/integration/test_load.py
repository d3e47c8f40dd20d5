"""`make load`'s Locust file against the running sandbox: a short run of the seed's stages
(LOAD_SCALE shortens them) books through the public /api/book and passes the original thresholds."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parents[2]


def test_locust_runs_the_seed_stages_and_its_thresholds_decide_the_exit_code(sandbox_env, made_events, tmp_path):
    event = requests.post(f"{sandbox_env['EVENT_SERVICE_URL']}/events", timeout=10, json={
        "name": "locust test", "date": "2030-01-01", "venue": "loopback", "capacity": 100000}).json()["id"]
    made_events.append(event)
    command = [str(Path(sys.executable).with_name("locust")), "-f", "load/locustfile.py", "--headless",
               "--host", sandbox_env["FRONTEND_URL"], "--csv", str(tmp_path / "run"), "--only-summary", "--loglevel", "WARNING"]
    env = {**os.environ, "EVENT_ID": str(event), "LOAD_SCALE": "0.05"}  # 15 s, peak 150 users
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "threshold ok   p95" in result.stdout and "threshold ok   errors" in result.stdout
    with open(tmp_path / "run_stats.csv") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    assert int(rows["/api/book"]["Request Count"]) > 100 and int(rows["/api/book"]["Failure Count"]) == 0


def test_a_failing_threshold_fails_the_run():
    command = [str(Path(sys.executable).with_name("locust")), "-f", "load/locustfile.py", "--headless",
               "--host", "http://127.0.0.1:9", "--only-summary"]  # nothing listens there: every request fails
    env = {**os.environ, "LOAD_SCALE": "0.01"}
    result = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "threshold FAIL errors" in result.stdout, result.stdout + result.stderr
