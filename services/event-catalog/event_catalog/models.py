"""State: the ``events`` table and its queries (no HTTP here)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Integer, MetaData, String, Table, insert, select
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


def list_events(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(select(events).order_by(events.c.date, events.c.id))]


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
