"""The seed's clients, unchanged: its k6 load test POSTs `{"user_id", "event_id", "ticket_count"}` to
/api/book with no Idempotency-Key and expects 202; its user clients read `userId`."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.validated("sandbox")


def test_the_seed_load_test_request_is_accepted_and_booked_exactly_once(api, db, kafka, new_event, uid):
    """20 of the seed's requests at once for 10 seats (the same body, as k6 sends it every iteration):
    each is a 202 saying it was not deduplicated across retries, each is one booking inside the system
    (one idempotency record, one message, one decision), and the seats are never oversold."""
    capacity, n = 10, 20
    event = new_event(capacity)
    body = {"user_id": f"{uid}-seed", "event_id": event["id"], "ticket_count": 1}
    before = kafka.end_offsets("ticket-bookings")
    with ThreadPoolExecutor(10) as pool:
        responses = list(pool.map(lambda _: api.book_like_the_seed(body), range(n)))
    assert [r.status_code for r in responses] == [202] * n, [r.text for r in responses if r.status_code != 202][:3]
    assert all(r.headers.get("Idempotency-Key-Missing") == "true" for r in responses)
    assert all("Idempotent-Replayed" not in r.headers for r in responses)
    accepted = [r.json() for r in responses]
    ids = {a["booking_id"] for a in accepted}
    assert len(ids) == n  # n requests, n bookings: nothing merged, nothing doubled
    assert all(a["status"] == "pending" and a["status_url"] == f"/api/bookings/{a['booking_id']}" for a in accepted)

    finals = [api.wait_final(booking_id, deadline_s=45) for booking_id in ids]
    assert all(finals), "every booking decided"
    assert sorted(f["status"] for f in finals) == ["confirmed"] * capacity + ["rejected"] * (n - capacity)
    rows = db.bookings_for_event(event["id"])
    assert sorted(r[0] for r in rows) == sorted(ids)  # one decision per booking id
    keys = db.query("SELECT idempotency_key, booking_id::text FROM booking_requests WHERE event_id = %s", (event["id"],))
    assert sorted(keys) == sorted((f"no-key:{i}", i) for i in ids)  # one record each, under its own key
    assert db.event(event["id"]) == (capacity, 0)
    after = kafka.end_offsets("ticket-bookings")
    ours = [json.loads(m["value"]) for m in kafka.read_range("ticket-bookings", before, after)
            if body["user_id"].encode() in (m["value"] or b"")]
    assert sorted(m["booking_id"] for m in ours) == sorted(ids)  # one message each
    assert all(set(m) == {"booking_id", "event_id", "user_id", "ticket_count", "timestamp"} for m in ours)


@pytest.mark.uses("aws")
def test_user_answers_carry_user_id_and_user_id_camel_case(api, new_user):
    user = new_user("Katherine Seed")
    assert user["userId"] == user["user_id"]
    got = api.get(f"/api/users/{user['user_id']}")
    assert got.status_code == 200 and got.json()["userId"] == got.json()["user_id"] == user["user_id"]
