"""Pure reservation logic (no servers)."""
import json
import uuid

import pytest
from booking_consumer.reservation import (
    CONFIRMED,
    REJECTED,
    SOLD_OUT,
    UNKNOWN_EVENT,
    BookingRequest,
    InvalidMessage,
    decide,
    parse_booking,
    status_event,
)


def req(event_id=1, n=1, bid=None):
    return BookingRequest(bid or str(uuid.uuid4()), event_id, "u", n, 1.0)


def test_parse_valid_message():
    bid = str(uuid.uuid4())
    b = parse_booking(json.dumps({"booking_id": bid, "event_id": 3, "user_id": "alice", "ticket_count": 2,
                                  "timestamp": 1700000000.5}).encode(), "rid")
    assert b == BookingRequest(bid, 3, "alice", 2, 1700000000.5, "rid")


@pytest.mark.parametrize("value", [
    b"not json", b"[]", None,
    json.dumps({"booking_id": "x", "event_id": 1, "user_id": "u", "ticket_count": 1, "timestamp": 1}).encode(),
    json.dumps({"booking_id": str(uuid.uuid4()), "event_id": 0, "user_id": "u", "ticket_count": 1, "timestamp": 1}).encode(),
    json.dumps({"booking_id": str(uuid.uuid4()), "event_id": 1, "user_id": "", "ticket_count": 1, "timestamp": 1}).encode(),
    json.dumps({"booking_id": str(uuid.uuid4()), "event_id": 1, "user_id": "u", "ticket_count": 11, "timestamp": 1}).encode(),
    json.dumps({"booking_id": str(uuid.uuid4()), "event_id": 1, "user_id": "u", "ticket_count": -1, "timestamp": 1}).encode(),
    json.dumps({"booking_id": str(uuid.uuid4()), "event_id": True, "user_id": "u", "ticket_count": 1, "timestamp": 1}).encode(),
    json.dumps({"booking_id": str(uuid.uuid4()), "event_id": 1, "user_id": "u", "ticket_count": 1}).encode(),
])
def test_parse_rejects_bad_messages(value):
    with pytest.raises(InvalidMessage):
        parse_booking(value)


def test_decide_confirms_until_sold_out_first_come_first_served():
    batch = [req(n=4), req(n=4), req(n=4), req(n=1)]
    decisions, taken = decide(batch, {1: 9})
    assert [(d.status, d.reason) for d in decisions] == [
        (CONFIRMED, None), (CONFIRMED, None), (REJECTED, SOLD_OUT), (CONFIRMED, None)]
    assert taken == {1: 9}


def test_decide_unknown_event_and_untouched_events():
    decisions, taken = decide([req(event_id=7)], {1: 5, 2: 5})
    assert [(d.status, d.reason) for d in decisions] == [(REJECTED, UNKNOWN_EVENT)]
    assert taken == {}


def test_decide_skips_recorded_and_in_batch_duplicates():
    a, b = req(n=2), req(n=2)
    decisions, taken = decide([a, a, b], {1: 10}, already_recorded={b.booking_id})
    assert [d.booking.booking_id for d in decisions] == [a.booking_id]
    assert taken == {1: 2}


def test_decide_never_oversells():
    batch = [req(n=(i % 10) + 1) for i in range(500)]
    decisions, taken = decide(batch, {1: 100})
    assert sum(d.booking.ticket_count for d in decisions if d.status == CONFIRMED) == taken[1] <= 100


def test_status_event_shape():
    d = decide([req()], {1: 1})[0][0]
    assert set(status_event(d, 2.0)) == {"booking_id", "event_id", "user_id", "ticket_count", "status", "reason", "timestamp"}
