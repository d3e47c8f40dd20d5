"""State: the ``events`` table and its queries (no HTTP here)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    CheckConstraint,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    inspect,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.engine import Connection, Engine

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    # ISO 8601 text: "YYYY-MM-DD" or a full ISO datetime; sorts chronologically.
    Column("date", String(40), nullable=False),
    Column("venue", String(200), nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("tickets_available", Integer, nullable=False),
    CheckConstraint("capacity >= 0", name="events_capacity_nonnegative"),
    CheckConstraint("tickets_available >= 0", name="events_tickets_available_nonnegative"),
    CheckConstraint("tickets_available <= capacity", name="events_tickets_available_le_capacity"),
)

SEED_EVENTS = [
    {"name": "Rock Concert", "date": "2026-12-15", "venue": "Madison Square Garden", "capacity": 20000},
    {"name": "Jazz Night", "date": "2026-12-20", "venue": "Blue Note", "capacity": 300},
    {"name": "Tech Conference", "date": "2027-01-10", "venue": "Moscone Center", "capacity": 5000},
    {"name": "Comedy Show", "date": "2027-01-18", "venue": "Comedy Cellar", "capacity": 150},
    {"name": "Symphony Orchestra", "date": "2027-02-02", "venue": "Carnegie Hall", "capacity": 2800},
]


def _row(r) -> dict:
    return {
        "id": r.id,
        "name": r.name,
        "date": r.date,
        "venue": r.venue,
        "capacity": r.capacity,
        "tickets_available": r.tickets_available,
    }


@dataclass
class Page:
    """One page of events in (date, id) order, and where the pages beside it start: ``next_after``
    is the key to continue after (None: last page); ``prev_after`` the key the previous page
    starts after, ``()`` when the previous page is the first one, None when this is the first."""

    events: list[dict]
    next_after: tuple[str, int] | None
    prev_after: tuple[str, int] | tuple[()] | None


def _key(r) -> tuple[str, int]:
    return (r.date, r.id)


def list_events(engine: Engine, limit: int = 50, after: tuple[str, int] | None = None,
                name: str | None = None) -> Page:
    """Keyset paging on (date, id), the listing's order: a page costs the same wherever it is."""
    order_key = tuple_(events.c.date, events.c.id)
    query = select(events)
    if name:
        query = query.where(events.c.name.icontains(name, autoescape=True))
    with engine.connect() as conn:
        forward = query.where(order_key > tuple_(literal(after[0]), literal(after[1]))) if after else query
        rows = conn.execute(forward.order_by(events.c.date, events.c.id).limit(limit + 1)).all()
        prev_after = None
        if after:
            back = conn.execute(query.where(order_key <= tuple_(literal(after[0]), literal(after[1])))
                                .order_by(events.c.date.desc(), events.c.id.desc()).limit(limit + 1)).all()
            if back:
                prev_after = _key(back[limit]) if len(back) > limit else ()
    page = rows[:limit]
    return Page([_row(r) for r in page], _key(page[-1]) if len(rows) > limit else None, prev_after)


def delete_event(engine: Engine, event_id: int) -> str:
    """Delete an event nobody has booked: "deleted", "missing", or "booked" (seats taken, or a
    booking request or booking recorded for it: those are kept, so the event stays)."""
    with engine.begin() as conn:
        # the consumer locks event rows FOR UPDATE before recording bookings: this waits for it
        row = conn.execute(select(events).where(events.c.id == event_id).with_for_update()).first()
        if row is None:
            return "missing"
        if row.tickets_available != row.capacity:
            return "booked"
        tables = inspect(conn)
        for table in ("booking_requests", "bookings"):  # owned by booking-service / booking-consumer
            if tables.has_table(table) and conn.execute(
                    text(f"SELECT 1 FROM {table} WHERE event_id = :id LIMIT 1"), {"id": event_id}).first():
                return "booked"
        conn.execute(delete(events).where(events.c.id == event_id))
    return "deleted"


def check(engine: Engine) -> None:
    """Raise unless the database answers a query on ``events``."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1 FROM events LIMIT 1"))


def get_event(engine: Engine, event_id: int) -> dict | None:
    with engine.connect() as conn:
        r = conn.execute(select(events).where(events.c.id == event_id)).first()
        return _row(r) if r else None


def create_event(engine: Engine, name: str, date: str, venue: str, capacity: int) -> dict:
    with engine.begin() as conn:
        return _insert(conn, name, date, venue, capacity)


def _insert(conn: Connection, name: str, date: str, venue: str, capacity: int) -> dict:
    r = conn.execute(
        insert(events)
        .values(name=name, date=date, venue=venue, capacity=capacity, tickets_available=capacity)
        .returning(*events.c)
    ).first()
    return _row(r)


# --- migration steps (applied once each by event_catalog.migrate) ---------------------------

def step_create_events(conn: Connection) -> None:
    metadata.create_all(conn, checkfirst=True)


def step_seed(conn: Connection) -> None:
    for e in SEED_EVENTS:
        _insert(conn, e["name"], e["date"], e["venue"], e["capacity"])


MIGRATIONS = [(1, step_create_events), (2, step_seed)]
