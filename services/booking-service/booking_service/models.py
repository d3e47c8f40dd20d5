"""State: ``booking_requests`` (idempotency records, owned here); reads ``events`` and ``bookings``.

A request row is inserted *before* publishing and marked ``published_at`` only after Kafka
acknowledged the message (acks=all), so the record never claims success it did not have.
A retry with the same key re-publishes the *same* booking_id, which the consumer records
at most once. The hot-path writes are group-committed by ``claims.ClaimWriter``.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.engine import Connection, Engine

metadata = MetaData()

booking_requests = Table(
    "booking_requests",
    metadata,
    Column("idempotency_key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("booking_id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("event_id", Integer, nullable=False),
    Column("user_id", String(128), nullable=False),
    Column("ticket_count", Integer, nullable=False),
    Column("requested_at", Float, nullable=False),
    Column("request_id", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
)

_events = Table("events", MetaData(), Column("id", Integer, primary_key=True))
_bookings = Table(
    "bookings",
    MetaData(),
    Column("booking_id", UUID(as_uuid=False), primary_key=True),
    Column("event_id", Integer),
    Column("user_id", String(128)),
    Column("ticket_count", Integer),
    Column("status", String(16)),
    Column("reason", String(32)),
)


def step_create_tables(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


MIGRATIONS = [(1, step_create_tables)]


class EventDirectory:
    """Does an event exist? Positive answers are cached (events are never deleted)."""

    def __init__(self, engine: Engine, ttl_s: float = 300.0):
        self.engine, self.ttl_s = engine, ttl_s
        self._known: dict[int, float] = {}
        self._lock = threading.Lock()

    def exists(self, event_id: int) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._known.get(event_id)
        if seen is not None and now - seen < self.ttl_s:
            return True
        with self.engine.connect() as conn:
            found = conn.execute(select(_events.c.id).where(_events.c.id == event_id)).first() is not None
        if found:
            with self._lock:
                self._known[event_id] = now
        return found


def booking_status(engine: Engine, booking_id: str) -> dict | None:
    """Decision from ``bookings`` if the consumer recorded it, else pending if published, else None."""
    with engine.connect() as conn:
        row = conn.execute(select(_bookings).where(_bookings.c.booking_id == booking_id)).first()
        if row is not None:
            return {
                "booking_id": row.booking_id,
                "event_id": row.event_id,
                "user_id": row.user_id,
                "ticket_count": row.ticket_count,
                "status": row.status,
                "reason": row.reason,
            }
        req = conn.execute(
            select(booking_requests).where(
                booking_requests.c.booking_id == booking_id, booking_requests.c.published_at.is_not(None)
            )
        ).first()
        if req is None:
            return None
        return {
            "booking_id": req.booking_id,
            "event_id": req.event_id,
            "user_id": req.user_id,
            "ticket_count": req.ticket_count,
            "status": "pending",
            "reason": None,
        }


def check(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1 FROM booking_requests LIMIT 1"))
        conn.execute(text("SELECT 1 FROM events LIMIT 1"))
        conn.execute(text("SELECT 1 FROM bookings LIMIT 1"))
