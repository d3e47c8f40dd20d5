"""Known-timestamp bookings for the analytics job and their expected tumbling-window totals."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from scenarios.lib.checkers import expected_windows, window_start


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_for_fresh_window(size: int, need: float) -> int:
    """Sleep (at most one window) until at least ``need`` seconds of the current window are left;
    return its start. Timestamps in it stay ahead of the watermark (now - 2 s) until it closes."""
    now = time.time()
    start = window_start(now, size)
    if start + size - now < need:
        time.sleep(start + size - now + 0.05)
        start = window_start(time.time(), size)
    return start


def bookings_now(event_id: int, ticket_counts: list[int], user: str) -> list[dict]:
    """Booking messages with explicit timestamps: now, 10 ms apart (never in the future by more than that)."""
    t0 = time.time()
    return [{"booking_id": str(uuid.uuid4()), "event_id": event_id, "user_id": user, "ticket_count": n,
             "timestamp": round(t0 + i * 0.01, 3)} for i, n in enumerate(ticket_counts)]


def expected_results(bookings: list[dict], size: int) -> dict[tuple[int, str], tuple[int, int]]:
    """(event_id, window_end ISO) -> (total_tickets, booking_count), as `analytics-results` spells it."""
    return {(eid, iso(start + size)): v for (eid, start), v in expected_windows(bookings, size).items()}


def produce(kafka, bookings: list[dict]) -> None:
    kafka.produce("ticket-bookings", [(str(b["event_id"]).encode(), b) for b in bookings])


def actual_results(reader, event_ids: set[int]) -> dict[tuple[int, str], tuple[int, int]]:
    return {k: (v["total_tickets"], v["booking_count"]) for k, v in reader.windows.items() if k[0] in event_ids}
