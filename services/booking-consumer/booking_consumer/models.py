"""State: the ``bookings`` and ``booking_status_outbox`` tables (owned here) and the batch transaction.

``events`` is owned by event-catalog; only the two columns used here are declared.
"""
from __future__ import annotations

import logging
import time

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from .reservation import BookingRequest, Decision, decide, status_event

log = logging.getLogger(__name__)
metadata = MetaData()

bookings = Table(
    "bookings",
    metadata,
    Column("booking_id", UUID(as_uuid=False), primary_key=True),
    Column("event_id", Integer, nullable=False, index=True),
    Column("user_id", String(128), nullable=False),
    Column("ticket_count", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(32)),
    Column("requested_at", Float, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("request_id", String(128)),
    CheckConstraint("ticket_count > 0", name="bookings_ticket_count_positive"),
    CheckConstraint("status IN ('confirmed', 'rejected')", name="bookings_status_valid"),
)

outbox = Table(
    "booking_status_outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("booking_id", UUID(as_uuid=False), nullable=False),
    Column("topic", String(249), nullable=False),
    Column("key", String(128)),
    Column("payload", JSONB, nullable=False),
    Column("request_id", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("sent_at", DateTime(timezone=True)),
    Index("booking_status_outbox_unsent", "id", postgresql_where=text("sent_at IS NULL")),
)

_events = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("tickets_available", Integer, nullable=False),
)


def step_create_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


MIGRATIONS = [(1, step_create_tables)]


class ReservationConflict(RuntimeError):
    """Another writer got in between; the batch transaction is retried."""


def record_batch(engine: Engine, batch: list[BookingRequest], status_topic: str) -> list[Decision]:
    """Decide and record a batch in ONE transaction: bookings rows, seat decrements, outbox rows.

    Event rows are locked (``FOR UPDATE``, id order) before the already-recorded check, so
    concurrent consumers serialise per event; the seat update keeps the guard
    ``tickets_available >= n`` and must hit exactly one row, and the table's CHECK
    (tickets_available >= 0) is the last line. Redelivered booking ids are skipped.
    """
    if not batch:
        return []
    event_ids = sorted({b.event_id for b in batch})
    booking_ids = sorted({b.booking_id for b in batch})
    with engine.begin() as conn:
        seats = dict(
            conn.execute(
                select(_events.c.id, _events.c.tickets_available)
                .where(_events.c.id.in_(event_ids))
                .order_by(_events.c.id)
                .with_for_update()
            ).all()
        )
        existing = set(
            conn.execute(select(bookings.c.booking_id).where(bookings.c.booking_id.in_(booking_ids))).scalars()
        )
        decisions, taken = decide(batch, seats, existing)
        if not decisions:
            return []
        now = time.time()
        rows = [
            {
                "booking_id": d.booking.booking_id,
                "event_id": d.booking.event_id,
                "user_id": d.booking.user_id,
                "ticket_count": d.booking.ticket_count,
                "status": d.status,
                "reason": d.reason,
                "requested_at": d.booking.timestamp,
                "request_id": d.booking.request_id,
            }
            for d in decisions
        ]
        # executemany form: one cached statement, sent as multi-row VALUES ("insertmanyvalues")
        inserted = set(
            conn.execute(
                pg_insert(bookings)
                .on_conflict_do_nothing(index_elements=["booking_id"])
                .returning(bookings.c.booking_id),
                rows,
            ).scalars()
        )
        if len(inserted) != len(decisions):
            raise ReservationConflict("booking ids recorded concurrently")
        for event_id, n in sorted(taken.items()):
            res = conn.execute(
                update(_events)
                .where(_events.c.id == event_id, _events.c.tickets_available >= n)
                .values(tickets_available=_events.c.tickets_available - n)
            )
            if res.rowcount != 1:
                raise ReservationConflict(f"seats for event {event_id} changed concurrently")
        conn.execute(
            outbox.insert(),
            [
                {
                    "booking_id": d.booking.booking_id,
                    "topic": status_topic,
                    "key": str(d.booking.event_id),
                    "payload": status_event(d, now),
                    "request_id": d.booking.request_id,
                }
                for d in decisions
            ],
        )
    return decisions


def record_batch_with_retry(
    engine: Engine, batch: list[BookingRequest], status_topic: str, attempts: int = 5
) -> list[Decision]:
    for attempt in range(1, attempts + 1):
        try:
            return record_batch(engine, batch, status_topic)
        except (ReservationConflict, DBAPIError) as exc:
            if attempt == attempts:
                raise
            log.warning("batch transaction retry", extra={"attempt": attempt, "error": str(exc).splitlines()[0]})
            time.sleep(min(0.05 * 2**attempt, 1.0))
    raise AssertionError("unreachable")
