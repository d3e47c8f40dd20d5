"""Pure parsing, validation and idempotency hashing (no servers)."""
import json
import uuid

import pytest
from booking_service.validation import (
    accepted_body,
    booking_message,
    parse_booking,
    parse_booking_id,
    parse_idempotency_key,
    request_hash,
)

from svc_common.errors import ApiError

GOOD = {"event_id": 1, "user_id": "alice", "ticket_count": 2}


def test_parse_booking_returns_canonical_fields():
    assert parse_booking({**GOOD, "extra": "ignored"}) == GOOD


@pytest.mark.parametrize("patch,field", [
    ({"event_id": None}, "event_id"), ({"event_id": "1"}, "event_id"), ({"event_id": 0}, "event_id"),
    ({"event_id": -3}, "event_id"), ({"event_id": 2**40}, "event_id"), ({"event_id": True}, "event_id"),
    ({"event_id": 1.0}, "event_id"),
    ({"user_id": None}, "user_id"), ({"user_id": ""}, "user_id"), ({"user_id": "   "}, "user_id"),
    ({"user_id": 5}, "user_id"), ({"user_id": "x" * 129}, "user_id"),
    ({"user_id": "a\x00b"}, "user_id"), ({"user_id": "lone\ud800"}, "user_id"), ({"user_id": "\udfff"}, "user_id"),
    ({"ticket_count": None}, "ticket_count"), ({"ticket_count": 0}, "ticket_count"),
    ({"ticket_count": -1}, "ticket_count"), ({"ticket_count": 11}, "ticket_count"),
    ({"ticket_count": 10**18}, "ticket_count"), ({"ticket_count": "2"}, "ticket_count"),
    ({"ticket_count": 2.5}, "ticket_count"), ({"ticket_count": False}, "ticket_count"),
])
def test_parse_booking_rejects(patch, field):
    body = {**GOOD, **patch}
    body = {k: v for k, v in body.items() if v is not None}
    with pytest.raises(ApiError) as exc:
        parse_booking(body)
    assert exc.value.field == field and exc.value.status == 400


@pytest.mark.parametrize("body", [[GOOD], "x", 3, None])
def test_parse_booking_requires_object(body):
    with pytest.raises(ApiError) as exc:
        parse_booking(body)
    assert exc.value.field == "body"


@pytest.mark.parametrize("value", ["", "   ", "k" * 201, "a\nb", "a\x00b", "no-key:abc"])
def test_idempotency_key_rejected(value):
    with pytest.raises(ApiError) as exc:
        parse_idempotency_key(value)
    assert exc.value.field == "Idempotency-Key"


def test_idempotency_key_absent_is_accepted_and_a_key_is_kept_as_sent():
    assert parse_idempotency_key(None) is None
    assert parse_idempotency_key(" k-1 ") == "k-1"


def test_user_id_is_kept_as_sent_and_emoji_are_fine():
    assert parse_booking({**GOOD, "user_id": " spaced "})["user_id"] == " spaced "
    assert parse_booking({**GOOD, "user_id": "fan-\U0001f3b8"})["user_id"] == "fan-\U0001f3b8"


def test_request_hash_is_canonical():
    a = request_hash({"event_id": 1, "user_id": "u", "ticket_count": 2})
    b = request_hash({"ticket_count": 2, "user_id": "u", "event_id": 1})
    assert a == b and len(a) == 64
    assert a != request_hash({"event_id": 1, "user_id": "u", "ticket_count": 3})
    assert a != request_hash({"event_id": 1, "user_id": "U", "ticket_count": 2})


def test_booking_message_keeps_seed_fields():
    bid = str(uuid.uuid4())
    msg = json.loads(booking_message(bid, GOOD, 1700000000.25))
    assert msg == {"booking_id": bid, "event_id": 1, "user_id": "alice", "ticket_count": 2, "timestamp": 1700000000.25}


def test_accepted_body_and_booking_id():
    bid = str(uuid.uuid4())
    assert accepted_body(bid) == {"booking_id": bid, "status": "pending", "status_url": f"/bookings/{bid}"}
    assert parse_booking_id(bid.upper()) == bid
    with pytest.raises(ApiError) as exc:
        parse_booking_id("nope")
    assert exc.value.field == "booking_id"
