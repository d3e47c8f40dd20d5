"""Fixtures on real Postgres and Kafka from the environment (DATABASE_URL or DB_*, KAFKA_BROKERS).

Integration tests use their own topics (``<name>-test-<uuid>``) and consumer groups, so they
never disturb a consumer the sandbox is running on ``ticket-bookings``.
"""
import os
import uuid
from contextlib import suppress

import pytest

from sandbox.poll import until
from svc_common.db import database_url_from_env


@pytest.fixture(scope="session")
def pg_engine():
    url = database_url_from_env()
    if not url:
        pytest.skip("DATABASE_URL / DB_HOST not set")
    from sqlalchemy import create_engine, text

    engine = create_engine(url, pool_size=10, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as c:
            c.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        engine.dispose()
        pytest.skip(f"Postgres unreachable: {str(exc).splitlines()[0]}")
    from booking_consumer.models import MIGRATIONS
    from event_catalog.models import MIGRATIONS as EVENT_MIGRATIONS

    from svc_common.migrations import apply

    apply(engine, "event-catalog", EVENT_MIGRATIONS)
    apply(engine, "booking-consumer", MIGRATIONS)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def brokers():
    brokers = os.environ.get("KAFKA_BROKERS")
    if not brokers:
        pytest.skip("KAFKA_BROKERS not set")
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": brokers}).list_topics(timeout=5)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Kafka at {brokers} unreachable: {exc}")
    return brokers


@pytest.fixture(scope="session")
def made_events(pg_engine):
    """Every event the tests made, purged with their booking rows at the end of the session (when
    no consumer of the tests' topics runs any more), so the database (the developer's sandbox,
    under `make test`) is left as it was."""
    from svc_common.pg_cleanup import purge_events

    made: list[int] = []
    yield made
    purge_events(pg_engine.url.render_as_string(hide_password=False), made)


@pytest.fixture()
def make_event(pg_engine, made_events):
    from sqlalchemy import text

    def _make(seats: int) -> int:
        with pg_engine.begin() as c:
            made_events.append(c.execute(
                text("INSERT INTO events (name, date, venue, capacity, tickets_available) "
                     "VALUES (:n, '2027-06-01', 'Test Hall', :s, :s) RETURNING id"),
                {"n": f"test-{uuid.uuid4().hex[:8]}", "s": seats},
            ).scalar_one())
        return made_events[-1]

    return _make


def seats_left(engine, event_id: int) -> int:
    from sqlalchemy import text

    with engine.connect() as c:
        return c.execute(text("SELECT tickets_available FROM events WHERE id = :i"), {"i": event_id}).scalar_one()


def booking_rows(engine, event_id: int) -> list:
    from sqlalchemy import text

    with engine.connect() as c:
        return c.execute(text("SELECT booking_id::text, status, reason, ticket_count FROM bookings WHERE event_id = :i"),
                         {"i": event_id}).all()


@pytest.fixture()
def topics(brokers):
    """Fresh bookings/status/DLQ topics for one test; deleted afterwards."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": brokers})
    suffix = uuid.uuid4().hex[:8]
    names = {"bookings": f"ticket-bookings-test-{suffix}", "status": f"booking-status-test-{suffix}",
             "dlq": f"ticket-bookings-dlq-test-{suffix}"}
    for f in admin.create_topics([NewTopic(n, 3 if k == "bookings" else 1, 1) for k, n in names.items()]).values():
        f.result(10)
    yield names
    for f in admin.delete_topics(list(names.values())).values():
        try:
            f.result(10)
        except Exception:  # noqa: BLE001
            pass


def end_offsets(brokers: str, topic: str) -> int:
    """Sum of the high watermarks of all partitions of ``topic``."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": brokers, "group.id": f"offsets-{uuid.uuid4().hex}"})
    try:
        md = c.list_topics(topic, timeout=10).topics[topic]
        return sum(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in md.partitions)
    finally:
        c.close()


def read_all(brokers: str, topic: str, expect: int, timeout_s: float = 20.0) -> list:
    """The messages of ``topic`` from the start: until ``expect`` arrived or ``timeout_s`` passed
    (then fewer: some tests check that no more than that came)."""
    from confluent_kafka import Consumer

    c = Consumer({"bootstrap.servers": brokers, "group.id": f"reader-{uuid.uuid4().hex}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    out = []

    def read_enough() -> bool:
        out.extend(m for m in c.consume(500, 0.5) if m.error() is None)
        return len(out) >= expect

    try:
        with suppress(TimeoutError):
            until(read_enough, timeout_s, f"{expect} messages on {topic}", interval=0)
    finally:
        c.close()
    return out
