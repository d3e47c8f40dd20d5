"""The analytics job's kept graph (sandbox/jobgraph.py) on the session's sandbox: a resubmission
sends it, resumed from the savepoint it is given, and one that does not submit is planned again by
`flink run`. The job is stopped with a savepoint first, so its window totals carry over."""

from __future__ import annotations

import time

import requests

from sandbox.orchestrator import Sandbox


def _analytics():
    return Sandbox().component("analytics")


def _submissions(analytics) -> list[str]:
    return [line for line in analytics.log_file.read_text().splitlines()
            if line.startswith(("$ flink run", "$ submit the kept job graph"))]


def _running(analytics, deadline_s: float = 60) -> dict:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        job = analytics.running_job()
        if job and job["state"] == "RUNNING":
            return job
        time.sleep(0.2)
    raise AssertionError(f"the analytics job did not run again; see {analytics.log_file}")


def _restored_from(analytics, jid: str, deadline_s: float = 30) -> str | None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        latest = requests.get(f"{analytics.flink.rest_url}/jobs/{jid}/checkpoints", timeout=5).json()["latest"]
        if latest.get("restored"):
            return latest["restored"]["external_path"]
        time.sleep(0.3)
    return None


def test_a_resubmission_sends_the_kept_graph_from_the_savepoint_given(sandbox_env):
    analytics = _analytics()
    savepoint = analytics.cancel(savepoint=True)
    assert savepoint
    jid = analytics.submit()
    last = _submissions(analytics)[-1]
    assert last.startswith("$ submit the kept job graph jobgraph-") and last.endswith(f" -s {savepoint.removeprefix('file:')}"), last
    assert _running(analytics)["jid"] == jid
    restored = _restored_from(analytics, jid)
    assert restored and restored.rstrip("/").endswith(savepoint.rstrip("/").rsplit("/", 1)[1]), restored


def test_a_kept_graph_that_does_not_submit_is_planned_again(sandbox_env):
    analytics = _analytics()
    [graph] = analytics.conf_dir.glob("jobgraph-*.bin")
    graph.write_bytes(b"not a job graph")
    analytics.stop_job(savepoint=True)  # tried again while the job submitted just before still starts
    jid = analytics.submit()
    assert [line.split(" ", 2)[1] for line in _submissions(analytics)[-2:]] == ["submit", "flink"]
    assert _running(analytics)["jid"] == jid
    assert graph.stat().st_size > 10_000  # written again by that `flink run`
