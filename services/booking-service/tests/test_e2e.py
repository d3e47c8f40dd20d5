"""End to end with real processes: booking-service (svc_common.serve) -> Kafka -> ``python -m booking_consumer`` -> Postgres.

Own topics and consumer group, so it runs beside a sandbox without touching its consumer.
"""
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import scalar

from sandbox.health import HttpProbe
from sandbox.poll import ProcessExited, until, wait_for

pytestmark = pytest.mark.integration
SERVICE_DIR = Path(__file__).resolve().parent.parent
SERVICES = SERVICE_DIR.parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url, proc, timeout_s=60):
    probe = HttpProbe(url, timeout=10)

    def ready():
        if proc.poll() is not None:
            raise ProcessExited(f"{url} exited with {proc.returncode}; see its log")
        return probe()

    health = wait_for(ready, timeout_s, not_yet=probe.not_yet)
    if not health.ok:
        raise RuntimeError(f"{url} not ready: {health.detail}")


@pytest.fixture(scope="module")
def stack(pg_engine, topics, tmp_path_factory):
    web_port, consumer_port = _free_port(), _free_port()
    env = {**os.environ, "BOOKINGS_TOPIC": topics["bookings"], "BOOKING_STATUS_TOPIC": topics["status"],
           "BOOKINGS_DLQ_TOPIC": topics["dlq"], "CONSUMER_GROUP": f"e2e-{uuid.uuid4().hex[:8]}",
           "LOG_LEVEL": "WARNING"}
    logs = tmp_path_factory.mktemp("logs")
    web_log, consumer_log = open(logs / "web.log", "wb"), open(logs / "consumer.log", "wb")
    web = subprocess.Popen([sys.executable, "-m", "svc_common.serve", "booking_service.app:create_app"],
                           cwd=SERVICE_DIR, env={**env, "PORT": str(web_port)},
                           stdout=subprocess.DEVNULL, stderr=web_log)
    consumer = subprocess.Popen([sys.executable, "-m", "booking_consumer"], cwd=SERVICES / "booking-consumer",
                                env={**env, "PORT": str(consumer_port)},
                                stdout=subprocess.DEVNULL, stderr=consumer_log)
    try:
        _wait_ready(f"http://127.0.0.1:{web_port}/ready", web)
        _wait_ready(f"http://127.0.0.1:{consumer_port}/ready", consumer)
        yield {"web": f"http://127.0.0.1:{web_port}", "consumer": f"http://127.0.0.1:{consumer_port}"}
    finally:
        for p in (web, consumer):
            p.send_signal(signal.SIGTERM)
        for p in (web, consumer):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        web_log.close()
        consumer_log.close()


def _final_status(base, booking_id, timeout_s=20.0):
    def decided():
        body = requests.get(f"{base}/bookings/{booking_id}", timeout=5).json()
        return body if body["status"] != "pending" else None

    return until(decided, timeout_s, f"booking {booking_id} no longer pending", interval=0.05)


def _book(base, event_id, user="alice", n=1, key=None, rid=None):
    headers = {"Idempotency-Key": key or str(uuid.uuid4())}
    if rid:
        headers["X-Request-ID"] = rid
    return requests.post(f"{base}/book", json={"event_id": event_id, "user_id": user, "ticket_count": n},
                         headers=headers, timeout=15)


def test_booking_is_confirmed_and_seats_decremented(stack, pg_engine, make_event):
    eid = make_event(10)
    r = _book(stack["web"], eid, n=3, rid="e2e-rid-1")
    assert r.status_code == 202
    bid = r.json()["booking_id"]
    body = _final_status(stack["web"], bid)
    assert body == {"booking_id": bid, "event_id": eid, "user_id": "alice", "ticket_count": 3,
                    "status": "confirmed", "reason": None}
    assert scalar(pg_engine, "SELECT tickets_available FROM events WHERE id = :e", e=eid) == 7
    # the request id travelled HTTP -> Kafka header -> consumer's record
    assert scalar(pg_engine, "SELECT request_id FROM bookings WHERE booking_id = :b", b=bid) == "e2e-rid-1"
    # sold out
    r = _book(stack["web"], eid, n=8)
    assert _final_status(stack["web"], r.json()["booking_id"])["reason"] == "sold_out"


def test_200_concurrent_bookings_for_100_seats(stack, pg_engine, make_event):
    eid = make_event(100)
    with ThreadPoolExecutor(50) as pool:
        responses = list(pool.map(lambda i: _book(stack["web"], eid, user=f"user-{i}"), range(200)))
    assert [r.status_code for r in responses] == [202] * 200
    ids = [r.json()["booking_id"] for r in responses]
    with ThreadPoolExecutor(20) as pool:
        finals = list(pool.map(lambda b: _final_status(stack["web"], b), ids))
    statuses = [f["status"] for f in finals]
    assert statuses.count("confirmed") == 100 and statuses.count("rejected") == 100
    assert {f["reason"] for f in finals if f["status"] == "rejected"} == {"sold_out"}
    assert scalar(pg_engine, "SELECT tickets_available FROM events WHERE id = :e", e=eid) == 0
    assert scalar(pg_engine, "SELECT count(*) FROM bookings WHERE event_id = :e", e=eid) == 200


def test_concurrent_retries_with_one_key_make_one_booking(stack, pg_engine, make_event):
    eid = make_event(100)
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: _book(stack["web"], eid, n=2, key=key), range(10)))
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["booking_id"] for r in responses}) == 1
    assert _final_status(stack["web"], responses[0].json()["booking_id"])["status"] == "confirmed"
    time.sleep(0.5)
    assert scalar(pg_engine, "SELECT count(*) FROM bookings WHERE event_id = :e", e=eid) == 1
    assert scalar(pg_engine, "SELECT tickets_available FROM events WHERE id = :e", e=eid) == 98


def test_metrics_exposed(stack):
    web = requests.get(f"{stack['web']}/metrics", timeout=5).text
    assert "bookings_published_total" in web and "http_request_duration_seconds_bucket" in web
    consumer = requests.get(f"{stack['consumer']}/metrics", timeout=5).text
    assert "bookings_confirmed_total" in consumer and "bookings_rejected_total" in consumer
