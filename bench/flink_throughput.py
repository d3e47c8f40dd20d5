"""Analytics job figures on a running (private) sandbox: submit -> RUNNING, sustained bookings/s
through a second instance of the job over a pre-filled topic, and booking -> window result
through the whole stack (frontend -> Kafka -> Flink -> analytics-results)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from sandbox.poll import until

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _job_state(rest: str, name: str) -> str | None:
    jobs = requests.get(f"{rest}/jobs/overview", timeout=5).json()["jobs"]
    running = [j for j in jobs if j["name"] == name and j["state"] not in ("CANCELED", "FINISHED", "FAILED")]
    return running[0]["state"] if running else None


def submit_to_running(sandbox_env: dict, env: dict) -> float:
    subprocess.run([str(BIN / "sandbox"), "flink", "cancel"], env=env, capture_output=True, check=True)
    started = time.perf_counter()
    subprocess.run([str(BIN / "sandbox"), "flink", "submit"], env=env, capture_output=True, check=True)
    until(lambda: _job_state(sandbox_env["FLINK_REST_URL"], "booking-analytics") == "RUNNING",
          timeout=max(0.0, started + 120 - time.perf_counter()),  # 120 s from the submit
          what="the analytics job RUNNING (120 s after the submit)", interval=0.1)
    return time.perf_counter() - started


def _read_results(brokers: str, topic: str, done, timeout: float) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"bench-{uuid.uuid4().hex}",
                         "isolation.level": "read_committed", "enable.auto.commit": False,
                         "auto.offset.reset": "earliest"})
    metadata = consumer.list_topics(topic, timeout=10)
    consumer.assign([TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions])
    records, deadline = [], time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                records.append({**json.loads(msg.value()), "_seen": time.perf_counter()})
                if done(records):
                    return records
    finally:
        consumer.close()
    raise TimeoutError(f"expected results not seen on {topic} within {timeout:.0f}s ({len(records)} records)")


def throughput(sandbox_env: dict, env: dict, bookings: int) -> dict:
    brokers, tag = sandbox_env["KAFKA_BROKERS"], uuid.uuid4().hex[:8]
    source, sink = f"bench-bookings-{tag}", f"bench-results-{tag}"
    admin = AdminClient({"bootstrap.servers": brokers})
    for future in admin.create_topics([NewTopic(source, 3, 1), NewTopic(sink, 1, 1)]).values():
        future.result(10)
    window, start, events = 10, 1_700_000_000, 50
    producer = Producer({"bootstrap.servers": brokers, "linger.ms": 20, "batch.size": 1_000_000,
                         "enable.idempotence": True, "acks": "all"})
    expected: dict[tuple[int, str], int] = {}
    span = 60 * window  # bookings spread over 60 windows
    for i in range(bookings):
        event_id, ts = random.randint(1, events), start + (i * span) / bookings
        producer.produce(source, key=str(event_id), value=json.dumps({
            "booking_id": str(uuid.uuid4()), "event_id": event_id, "user_id": "bench", "ticket_count": 1,
            "timestamp": ts}))
        end = int(ts // window * window + window)
        expected[(event_id, end)] = expected.get((event_id, end), 0) + 1
        if i % 10000 == 0:
            producer.poll(0)
    # no clock topic for this job (its bookings are from 2023; the clock says now): instead a last
    # booking on every partition moves event time past the last window
    for partition in range(3):
        producer.produce(source, partition=partition, value=json.dumps({
            "booking_id": str(uuid.uuid4()), "event_id": events + 1, "user_id": "bench", "ticket_count": 1,
            "timestamp": start + span + 10 * window}))
    producer.flush(60)

    flink_home = Path(__import__("pyflink").__file__).parent
    jars = [a for jar in sandbox_env["FLINK_CONNECTOR_JARS"].split(";") for a in ("--jarfile", jar)]
    state_dir = Path(env["SANDBOX_STATE_DIR"])
    submit = subprocess.run(
        ["bash", str(flink_home / "bin" / "flink"), "run", "-m", sandbox_env["FLINK_REST_URL"].removeprefix("http://"),
         "-d", *jars, "-pyclientexec", sys.executable, "-py", str(PROJECT / "flink" / "analytics_job.py"), "--",
         "--brokers", brokers, "--source-topic", source, "--clock-topic", "", "--sink-topic", sink, "--dlq-topic", "",
         "--group-id", f"bench-{tag}", "--transactional-id-prefix", f"bench-{tag}", "--window-seconds", str(window),
         "--no-wait"],
        env={**env, "FLINK_CONF_DIR": str(state_dir / "conf" / "flink")}, capture_output=True, text=True)
    job_id = next((line.split()[-1] for line in submit.stdout.splitlines() if line.startswith("JOB_ID")), None)
    if not job_id:
        raise RuntimeError(f"bench job submission failed: {submit.stdout[-1500:]} {submit.stderr[-1500:]}")
    rest = sandbox_env["FLINK_REST_URL"]
    until(lambda: requests.get(f"{rest}/jobs/{job_id}", timeout=5).json()["state"] == "RUNNING", timeout=120,
          what=f"bench job {job_id} RUNNING", interval=0.1)
    running_at = time.perf_counter()
    wanted = set(expected)
    try:
        records = _read_results(brokers, sink, lambda rs: wanted <= {(r["event_id"], _epoch(r["window_end"]))
                                                                     for r in rs}, timeout=300)
    finally:
        requests.patch(f"{rest}/jobs/{job_id}?mode=cancel", timeout=5)
    elapsed = time.perf_counter() - running_at
    got = {(r["event_id"], _epoch(r["window_end"])): r["booking_count"] for r in records}
    exact = all(got.get(key) == count for key, count in expected.items())
    # sustained rate: between the first closed window and the last one the job processed all but
    # the first of the 60 windows' bookings (source start-up and the first window excluded)
    first, last = min(r["_seen"] for r in records), max(r["_seen"] for r in records)
    sustained = bookings * 59 / 60 / max(last - first, 1e-3)
    return {"flink_bookings_per_s": round(sustained), "flink_end_to_end_bookings_per_s": round(bookings / elapsed),
            "flink_throughput_bookings": bookings, "flink_throughput_seconds": round(elapsed, 2),
            "flink_throughput_totals_exact": exact}


def _epoch(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


def booking_to_result(sandbox_env: dict) -> float:
    event = requests.post(f"{sandbox_env['EVENT_SERVICE_URL']}/events", timeout=10, json={
        "name": "latency", "date": "2030-01-01", "venue": "loopback", "capacity": 10}).json()
    started = time.perf_counter()
    requests.post(f"{sandbox_env['FRONTEND_URL']}/api/book", timeout=10, headers={"Idempotency-Key": uuid.uuid4().hex},
                  json={"event_id": event["id"], "user_id": "bench", "ticket_count": 1}).raise_for_status()
    _read_results(sandbox_env["KAFKA_BROKERS"], "analytics-results",
                  lambda rs: any(r["event_id"] == event["id"] for r in rs), timeout=120)
    return time.perf_counter() - started


def measure(sandbox_env: dict, env: dict, bookings: int) -> dict:
    results = {"flink_submit_to_running_s": round(submit_to_running(sandbox_env, env), 2)}
    results.update(throughput(sandbox_env, env, bookings))
    results["booking_to_window_result_s"] = round(booking_to_result(sandbox_env), 2)
    return results
