"""The consume loop on real Kafka + Postgres (own topics and consumer groups per test)."""
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from booking_consumer.config import Config
from booking_consumer.consumer import BookingConsumer
from booking_consumer.models import record_batch
from booking_consumer.outbox import OutboxRelay
from booking_consumer.reservation import parse_booking
from confluent_kafka import Consumer, Producer
from conftest import booking_rows, end_offsets, read_all, seats_left

from sandbox.health import HttpProbe
from sandbox.poll import until, wait_for

pytestmark = pytest.mark.integration
SERVICE_DIR = Path(__file__).resolve().parent.parent


def cfg_for(brokers, topics, group=None):
    from svc_common.db import database_url_from_env

    return Config(database_url=database_url_from_env(), kafka_brokers=brokers, bookings_topic=topics["bookings"],
                  status_topic=topics["status"], dlq_topic=topics["dlq"], group_id=group or f"g-{uuid.uuid4().hex[:8]}")


def message(event_id, n=1, booking_id=None):
    return {"booking_id": booking_id or str(uuid.uuid4()), "event_id": event_id, "user_id": "user-1",
            "ticket_count": n, "timestamp": time.time()}


def produce(brokers, topic, msgs, raw=False):
    p = Producer({"bootstrap.servers": brokers, "acks": "all", "enable.idempotence": True})
    for msg in msgs:
        value = msg if raw else json.dumps(msg).encode()
        key = b"x" if raw else str(msg["event_id"]).encode()
        p.produce(topic, key=key, value=value, headers=[("x-request-id", b"test-rid")])
    assert p.flush(10) == 0


class Running:
    """BookingConsumer + OutboxRelay in threads, as ``python -m booking_consumer`` wires them."""

    def __init__(self, engine, cfg):
        self.relay = OutboxRelay(engine, Producer({"bootstrap.servers": cfg.kafka_brokers, "acks": "all",
                                                   "enable.idempotence": True}), cfg.status_topic, interval_s=0.1)
        self.consumer = BookingConsumer(cfg, engine, on_committed=self.relay.wake.set)
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)

    def __enter__(self):
        self.relay.start()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.consumer.stop()
        self.thread.join(20)
        self.relay.stop()
        self.relay.join(20)


def committed(brokers, topic, group):
    from confluent_kafka import TopicPartition

    c = Consumer({"bootstrap.servers": brokers, "group.id": group})
    try:
        parts = c.committed([TopicPartition(topic, p) for p in range(3)], timeout=10)
        return sum(max(tp.offset, 0) for tp in parts)
    finally:
        c.close()


def test_200_concurrent_bookings_for_100_seats(pg_engine, brokers, topics, make_event):
    eid = make_event(100)
    cfg = cfg_for(brokers, topics)
    msgs = [message(eid) for _ in range(200)]
    with Running(pg_engine, cfg):
        threads = [threading.Thread(target=produce, args=(brokers, topics["bookings"], msgs[i::10])) for i in range(10)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert until(lambda: len(booking_rows(pg_engine, eid)) == 200, 30, "200 booking rows")
        assert until(lambda: committed(brokers, topics["bookings"], cfg.group_id) == 200, 30, "200 offsets committed")
    rows = booking_rows(pg_engine, eid)
    assert sum(r.status == "confirmed" for r in rows) == 100
    assert sum(r.reason == "sold_out" for r in rows) == 100
    assert seats_left(pg_engine, eid) == 0
    statuses = [json.loads(m.value()) for m in read_all(brokers, topics["status"], 200)]
    assert len(statuses) == 200 and {s["booking_id"] for s in statuses} == {m["booking_id"] for m in msgs}
    assert all(dict(m.headers())["x-request-id"] == b"test-rid" for m in read_all(brokers, topics["status"], 1))


def test_duplicate_message_is_recorded_once(pg_engine, brokers, topics, make_event):
    eid = make_event(10)
    dup = message(eid, 3)
    with Running(pg_engine, cfg_for(brokers, topics)):
        produce(brokers, topics["bookings"], [dup, dup, message(eid, 1), dup])
        assert until(lambda: len(booking_rows(pg_engine, eid)) == 2, 30, "2 booking rows")
        time.sleep(1.0)
    assert len(booking_rows(pg_engine, eid)) == 2
    assert seats_left(pg_engine, eid) == 6
    assert len(read_all(brokers, topics["status"], 3, timeout_s=5)) == 2


def test_crash_between_db_commit_and_offset_commit(pg_engine, brokers, topics, make_event):
    """A consumer commits the DB but dies before committing offsets: the redelivery changes nothing."""
    eid = make_event(5)
    group = f"g-{uuid.uuid4().hex[:8]}"
    produce(brokers, topics["bookings"], [message(eid, 2), message(eid, 2), message(eid, 2)])
    crashed = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False,
                        "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    crashed.subscribe([topics["bookings"]])
    got = []

    def consumed_three() -> bool:
        got.extend(m for m in crashed.consume(10, 0.5) if m.error() is None)
        return len(got) >= 3

    until(consumed_three, 20, "the 3 bookings consumed", interval=0)
    record_batch(pg_engine, [parse_booking(m.value()) for m in got], topics["status"])
    crashed.close()  # no offset commit
    assert committed(brokers, topics["bookings"], group) == 0
    before_rows, before_seats = booking_rows(pg_engine, eid), seats_left(pg_engine, eid)
    assert before_seats == 1 and len(before_rows) == 3
    with Running(pg_engine, cfg_for(brokers, topics, group)) as run:
        assert until(lambda: committed(brokers, topics["bookings"], group) == 3, 30, "3 offsets committed")
        assert run.consumer.processed == 3
    assert sorted(booking_rows(pg_engine, eid)) == sorted(before_rows)
    assert seats_left(pg_engine, eid) == 1
    # the three status events are relayed once each (written by the first, crashed pass)
    assert len(read_all(brokers, topics["status"], 4, timeout_s=5)) == 3


def test_bad_messages_go_to_dlq_and_write_nothing(pg_engine, brokers, topics, make_event):
    eid = make_event(10)
    bad = [b"not json", json.dumps({**message(eid), "ticket_count": -4}).encode(),
           json.dumps({**message(eid), "ticket_count": 1000}).encode()]
    group = f"g-{uuid.uuid4().hex[:8]}"
    with Running(pg_engine, cfg_for(brokers, topics, group)):
        produce(brokers, topics["bookings"], bad, raw=True)
        assert until(lambda: committed(brokers, topics["bookings"], group) == 3, 30, "3 offsets committed")
    assert booking_rows(pg_engine, eid) == []
    assert seats_left(pg_engine, eid) == 10
    dlq = read_all(brokers, topics["dlq"], 3)
    assert sorted(m.value() for m in dlq) == sorted(bad)
    assert all("dlq-reason" in dict(m.headers()) for m in dlq)
    assert end_offsets(brokers, topics["status"]) == 0


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_process_health_ready_metrics_and_sigterm(pg_engine, brokers, topics, make_event):
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "BOOKINGS_TOPIC": topics["bookings"],
           "BOOKING_STATUS_TOPIC": topics["status"], "BOOKINGS_DLQ_TOPIC": topics["dlq"],
           "CONSUMER_GROUP": f"g-{uuid.uuid4().hex[:8]}"}
    proc = subprocess.Popen([sys.executable, "-m", "booking_consumer"], cwd=SERVICE_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(HttpProbe(f"{base}/ready", timeout=5), 30).ok
        assert requests.get(f"{base}/health", timeout=5).json()["status"] == "ok"

        def settled():
            body = requests.get(f"{base}/ready", timeout=5).json()
            return body if "unknown: not checked yet" not in body["dependencies"].values() else None
        assert until(settled, 10, "dependencies checked") == {
            "status": "ready", "own": {"consume-loop": "ok", "outbox-relay": "ok"},
            "dependencies": {"postgres": "ok", "kafka": "ok"}}
        eid = make_event(1)
        produce(brokers, topics["bookings"], [message(eid), message(eid)])
        assert until(lambda: len(booking_rows(pg_engine, eid)) == 2, 30, "2 booking rows")
        metrics = requests.get(f"{base}/metrics", timeout=5).text
        assert "bookings_confirmed_total 1.0" in metrics
        assert 'bookings_rejected_total{reason="sold_out"} 1.0' in metrics
        assert "booking_decision_latency_seconds_bucket" in metrics
        assert requests.get(f"{base}/nope", timeout=5).json() == {"error": "not found", "field": None, "retryable": False}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()[-2000:]
    lines = [json.loads(line) for line in err.decode().splitlines() if line.startswith("{")]
    assert any(line["message"] == "booking-consumer stopped" for line in lines)
