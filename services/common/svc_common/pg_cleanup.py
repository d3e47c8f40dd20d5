"""Test clean-up on the shared Postgres: tests that make events leave the developer's sandbox as they found it.

``purge_events(url, ids)`` deletes events and everything recorded for them by the other services
(booking requests, bookings, their status outbox rows). It is for test fixtures only: the API's
``DELETE /events/{id}`` (event-catalog) refuses an event that has bookings, this does not. Tables
that do not exist (yet) are skipped. A booking still in flight for such an event when it is purged
is decided ``unknown_event`` by the consumer (and that row stays): purge after waiting for decisions.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

_STEPS = (
    ("booking_status_outbox", "DELETE FROM booking_status_outbox WHERE booking_id IN "
                              "(SELECT booking_id FROM bookings WHERE event_id = ANY(%(ids)s))"),
    ("bookings", "DELETE FROM bookings WHERE event_id = ANY(%(ids)s)"),
    ("booking_requests", "DELETE FROM booking_requests WHERE event_id = ANY(%(ids)s)"),
    ("events", "DELETE FROM events WHERE id = ANY(%(ids)s)"),
)


def conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (``postgresql+psycopg://`` -> ``postgresql://``)."""
    scheme, sep, rest = url.partition("://")
    return ("postgresql" if scheme.startswith("postgres") else scheme) + sep + rest


UNDECIDED = """
SELECT count(*) FROM booking_requests r
WHERE r.event_id = ANY(%(ids)s) AND r.published_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.booking_id = r.booking_id)
"""


def purge_events(url: str, event_ids: Iterable[int], wait_decided_s: float = 0) -> int:
    """Delete ``event_ids`` and their booking rows in one transaction; returns the events deleted.
    ``wait_decided_s``: first wait (that long at most) until the consumer has decided every booking
    published for them, so none is recorded again after the purge."""
    import psycopg

    ids = sorted({int(i) for i in event_ids})
    if not ids:
        return 0
    deleted = 0
    with psycopg.connect(conninfo(url), connect_timeout=5, autocommit=True) as conn:
        tables = {t for t in ("bookings", "booking_requests")
                  if conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is not None}
        deadline = time.monotonic() + wait_decided_s
        while tables == {"bookings", "booking_requests"} and time.monotonic() < deadline:
            if conn.execute(UNDECIDED, {"ids": ids}).fetchone()[0] == 0:
                break
            time.sleep(0.5)
    with psycopg.connect(conninfo(url), connect_timeout=5) as conn, conn.transaction():
        for table, sql in _STEPS:
            if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
                continue
            if table == "booking_status_outbox" and conn.execute(
                    "SELECT to_regclass('bookings')").fetchone()[0] is None:
                continue
            count = conn.execute(sql, {"ids": ids}).rowcount
            if table == "events":
                deleted = count
    return deleted
