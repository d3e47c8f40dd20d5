"""Pure request parsing, validation and idempotency hashing (no I/O)."""
from __future__ import annotations

import hashlib
import json
import uuid

from svc_common.errors import ApiError
from svc_common.text import storable_text

MAX_TICKETS = 10
MAX_USER_ID = 128
MAX_IDEMPOTENCY_KEY = 200
IDEMPOTENCY_HEADER = "Idempotency-Key"
# on every answer to a POST /book that carried no Idempotency-Key: the booking is still recorded
# exactly once inside the system, but a client retry of that request would be a second booking
NO_KEY_HEADER = "Idempotency-Key-Missing"
NO_KEY_PREFIX = "no-key:"  # the stored key of such a booking: no-key:<its booking_id>


def _positive_int(body: dict, field: str, hi: int) -> int:
    value = body.get(field)
    if value is None:
        raise ApiError(f"{field} is required", field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(f"{field} must be an integer", field)
    if not 1 <= value <= hi:
        raise ApiError(f"{field} must be between 1 and {hi}", field)
    return value


def parse_booking(body) -> dict:
    """Validate a POST /book body; return the canonical fields."""
    if not isinstance(body, dict):
        raise ApiError("request body must be a JSON object", "body")
    event_id = _positive_int(body, "event_id", 2**31 - 1)
    # storable in booking_requests/bookings (no NUL, no lone surrogate, <= 128): checked here, before
    # the group commit, so one unstorable value can never fail the other requests of its batch
    user_id = storable_text(body.get("user_id"), "user_id", MAX_USER_ID, strip=False)
    ticket_count = _positive_int(body, "ticket_count", MAX_TICKETS)
    return {"event_id": event_id, "user_id": user_id, "ticket_count": ticket_count}


def parse_idempotency_key(value: str | None) -> str | None:
    """The key, or None when the header is absent (accepted: that booking is not deduplicated
    across the client's retries, see ``NO_KEY_HEADER``). Present but blank or malformed -> 400."""
    if value is None:
        return None
    if not value.strip():
        raise ApiError(f"{IDEMPOTENCY_HEADER} must be 1..200 printable ASCII characters, not blank (or leave the header out)", IDEMPOTENCY_HEADER)
    value = value.strip()
    if len(value) > MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise ApiError(f"{IDEMPOTENCY_HEADER} must be 1..{MAX_IDEMPOTENCY_KEY} printable characters", IDEMPOTENCY_HEADER)
    if value.startswith(NO_KEY_PREFIX):
        raise ApiError(f"{IDEMPOTENCY_HEADER} must not start with {NO_KEY_PREFIX!r} (reserved)", IDEMPOTENCY_HEADER)
    return value


def request_hash(fields: dict) -> str:
    """Stable fingerprint of the canonical booking fields (key order and whitespace don't matter)."""
    canonical = json.dumps(
        {"event_id": fields["event_id"], "user_id": fields["user_id"], "ticket_count": fields["ticket_count"]},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_booking_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError("booking_id must be a UUID", "booking_id", 400) from None


def booking_message(booking_id: str, fields: dict, timestamp: float) -> bytes:
    """The ``ticket-bookings`` message value (the seed's fields + booking_id)."""
    return json.dumps(
        {
            "booking_id": booking_id,
            "event_id": fields["event_id"],
            "user_id": fields["user_id"],
            "ticket_count": fields["ticket_count"],
            "timestamp": timestamp,
        },
        separators=(",", ":"),
    ).encode()


def accepted_body(booking_id: str) -> dict:
    return {"booking_id": booking_id, "status": "pending", "status_url": f"/bookings/{booking_id}"}
