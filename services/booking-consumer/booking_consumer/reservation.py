"""Pure reservation logic: no Kafka, no database.

``parse_booking`` turns a ``ticket-bookings`` message value into a ``BookingRequest`` (or
raises ``InvalidMessage``); ``decide`` takes a batch in partition order, the seats left per
known event and the booking ids already recorded, and returns one decision per *new*
booking plus the seats taken per event. First come, first served: a booking that does not
fit is rejected (``sold_out``) even if a later, smaller one would fit.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_TICKETS = 10
CONFIRMED, REJECTED = "confirmed", "rejected"
SOLD_OUT, UNKNOWN_EVENT = "sold_out", "unknown_event"


class InvalidMessage(ValueError):
    """The message can never be processed (goes to the DLQ)."""


@dataclass(frozen=True)
class BookingRequest:
    booking_id: str
    event_id: int
    user_id: str
    ticket_count: int
    timestamp: float
    request_id: str | None = None


@dataclass(frozen=True)
class Decision:
    booking: BookingRequest
    status: str
    reason: str | None


def _int(value, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidMessage(f"{name} must be an integer in {lo}..{hi}")
    return value


def parse_booking(value: bytes | str | None, request_id: str | None = None) -> BookingRequest:
    try:
        data = json.loads(value) if value is not None else None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidMessage(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidMessage("message must be a JSON object")
    try:
        booking_id = str(uuid.UUID(str(data.get("booking_id"))))
    except ValueError:
        raise InvalidMessage("booking_id must be a UUID") from None
    user_id = data.get("user_id")
    if not isinstance(user_id, str) or not 0 < len(user_id) <= 128:
        raise InvalidMessage("user_id must be a non-empty string of at most 128 characters")
    ts = data.get("timestamp")
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        raise InvalidMessage("timestamp must be epoch seconds")
    return BookingRequest(
        booking_id=booking_id,
        event_id=_int(data.get("event_id"), "event_id", 1, 2**31 - 1),
        user_id=user_id,
        ticket_count=_int(data.get("ticket_count"), "ticket_count", 1, MAX_TICKETS),
        timestamp=float(ts),
        request_id=request_id,
    )


def decide(
    batch: Iterable[BookingRequest],
    seats_left: Mapping[int, int],
    already_recorded: Iterable[str] = (),
) -> tuple[list[Decision], dict[int, int]]:
    """Return (decisions for new bookings in order, seats taken per event)."""
    left = dict(seats_left)
    seen = set(already_recorded)
    decisions: list[Decision] = []
    for b in batch:
        if b.booking_id in seen:
            continue  # redelivery or duplicate publish: already decided once
        seen.add(b.booking_id)
        if b.event_id not in left:
            decisions.append(Decision(b, REJECTED, UNKNOWN_EVENT))
        elif left[b.event_id] >= b.ticket_count:
            left[b.event_id] -= b.ticket_count
            decisions.append(Decision(b, CONFIRMED, None))
        else:
            decisions.append(Decision(b, REJECTED, SOLD_OUT))
    taken = {eid: seats_left[eid] - n for eid, n in left.items() if seats_left[eid] != n}
    return decisions, taken


def status_event(d: Decision, decided_at: float) -> dict:
    """The JSON published to ``booking-status`` (via the outbox)."""
    b = d.booking
    return {
        "booking_id": b.booking_id,
        "event_id": b.event_id,
        "user_id": b.user_id,
        "ticket_count": b.ticket_count,
        "status": d.status,
        "reason": d.reason,
        "timestamp": decided_at,
    }
