"""The batch transaction on real Postgres: reservation, exactly-once records, outbox rows."""
import threading
import uuid

import pytest
from booking_consumer.models import outbox, record_batch, record_batch_with_retry
from booking_consumer.reservation import BookingRequest
from conftest import booking_rows, seats_left
from sqlalchemy import delete, func, select

pytestmark = pytest.mark.integration


@pytest.fixture()
def status_topic(pg_engine):
    topic = f"status-db-test-{uuid.uuid4().hex[:8]}"
    yield topic
    with pg_engine.begin() as c:  # nobody relays these rows: remove them
        c.execute(delete(outbox).where(outbox.c.topic == topic))


def req(event_id, n=1):
    return BookingRequest(str(uuid.uuid4()), event_id, "user-1", n, 1.0, "rid-1")


def outbox_count(engine, topic):
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(outbox).where(outbox.c.topic == topic)).scalar_one()


def test_confirm_decrements_and_writes_outbox(pg_engine, make_event, status_topic):
    eid = make_event(10)
    decisions = record_batch(pg_engine, [req(eid, 3), req(eid, 4)], status_topic)
    assert [d.status for d in decisions] == ["confirmed", "confirmed"]
    assert seats_left(pg_engine, eid) == 3
    assert outbox_count(pg_engine, status_topic) == 2


def test_sold_out_and_unknown_event(pg_engine, make_event, made_events, status_topic):
    eid = make_event(2)
    made_events.append(2_000_000_000)  # no such event, but its rejected booking is purged at the end too
    decisions = record_batch(pg_engine, [req(eid, 3), req(2_000_000_000, 1)], status_topic)
    assert [(d.status, d.reason) for d in decisions] == [("rejected", "sold_out"), ("rejected", "unknown_event")]
    assert seats_left(pg_engine, eid) == 2


def test_replayed_batch_records_nothing(pg_engine, make_event, status_topic):
    eid = make_event(10)
    batch = [req(eid, 2), req(eid, 2)]
    assert len(record_batch(pg_engine, batch, status_topic)) == 2
    assert record_batch(pg_engine, batch, status_topic) == []
    assert record_batch(pg_engine, batch[:1] * 3, status_topic) == []
    assert seats_left(pg_engine, eid) == 6
    assert len(booking_rows(pg_engine, eid)) == 2
    assert outbox_count(pg_engine, status_topic) == 2


def test_concurrent_writers_never_oversell(pg_engine, make_event, status_topic):
    """8 writers (as if 8 consumer instances) race 200 one-seat bookings for 100 seats."""
    eid = make_event(100)
    bookings = [req(eid, 1) for _ in range(200)]
    shards = [bookings[i::8] for i in range(8)]
    errors = []

    def run(shard):
        try:
            for i in range(0, len(shard), 5):
                record_batch_with_retry(pg_engine, shard[i:i + 5], status_topic)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in shards]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    rows = booking_rows(pg_engine, eid)
    assert len(rows) == 200
    assert sum(r.status == "confirmed" for r in rows) == 100
    assert sum(r.reason == "sold_out" for r in rows) == 100
    assert seats_left(pg_engine, eid) == 0
