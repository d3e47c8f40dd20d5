"""The gateway in front of the real event-catalog and booking-service (the sandbox's).

Skipped, saying why, unless EVENT_SERVICE_URL and BOOKING_SERVICE_URL point at running services.
"""
from __future__ import annotations

import io
import uuid

import pytest
from frontend_testlib import PNG, require_env

from sandbox.poll import until

pytestmark = pytest.mark.integration


@pytest.fixture()
def stack_client(make_frontend):
    env = require_env("EVENT_SERVICE_URL", "BOOKING_SERVICE_URL")
    return make_frontend(**env).test_client()


@pytest.fixture()
def open_event(stack_client, own_event):
    """A fresh event of this test's (purged afterwards), found through the gateway's list by name."""
    event = own_event(20)
    events = stack_client.get("/api/events", query_string={"name": event["name"]}).get_json()
    assert isinstance(events, list) and [e["id"] for e in events] == [event["id"]]
    for listed in events:
        assert {"id", "name", "date", "venue", "capacity", "tickets_available"} <= set(listed)
    return events[0]


def wait_for_booking(client, url: str, timeout: float = 15.0) -> dict:
    def decided() -> dict | None:
        booking = client.get(url).get_json()
        return booking if booking["status"] != "pending" else None

    return until(decided, timeout, f"booking {url} no longer pending", interval=0.1)


def test_events_and_one_event(stack_client, open_event):
    event = open_event
    one = stack_client.get(f"/api/events/{event['id']}")
    assert one.status_code == 200 and one.get_json()["id"] == event["id"]
    assert stack_client.get("/api/events/999999999").status_code == 404


def test_book_through_the_gateway_is_confirmed_and_reserves_seats(stack_client, open_event):
    event = open_event
    key = str(uuid.uuid4())
    body = {"event_id": event["id"], "user_id": "gateway-test", "ticket_count": 2}
    response = stack_client.post("/api/book", json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 202, response.get_json()
    accepted = response.get_json()
    assert accepted["status"] == "pending"
    assert accepted["status_url"] == f"/api/bookings/{accepted['booking_id']}"

    replay = stack_client.post("/api/book", json=body, headers={"Idempotency-Key": key})
    assert replay.get_json()["booking_id"] == accepted["booking_id"]
    conflict = stack_client.post("/api/book", json=body | {"ticket_count": 3}, headers={"Idempotency-Key": key})
    assert conflict.status_code == 422

    booking = wait_for_booking(stack_client, accepted["status_url"])
    assert booking["status"] == "confirmed", booking
    after = stack_client.get(f"/api/events/{event['id']}").get_json()
    assert after["tickets_available"] == event["tickets_available"] - 2


def test_book_without_idempotency_key_like_the_seed(stack_client, open_event):
    """The seed's request shape (no key) is accepted, and the answer says it is not deduplicated."""
    body = {"user_id": "seed-shape", "event_id": open_event["id"], "ticket_count": 1}
    response = stack_client.post("/api/book", json=body)
    assert response.status_code == 202, response.get_json()
    assert response.headers["Idempotency-Key-Missing"] == "true"
    assert wait_for_booking(stack_client, response.get_json()["status_url"])["status"] == "confirmed"
    blank = stack_client.post("/api/book", json=body, headers={"Idempotency-Key": " "})
    assert blank.status_code == 400 and blank.get_json()["field"] == "Idempotency-Key"


def test_events_page_through_the_gateway_with_link_headers(stack_client, own_event):
    made = [own_event(5) for _ in range(3)]
    first = stack_client.get("/api/events", query_string={"name": made[0]["name"], "limit": "1"})
    assert first.status_code == 200 and [e["id"] for e in first.get_json()] == [made[0]["id"]]
    assert "Link" not in first.headers  # one match: no other page
    page = stack_client.get("/api/events", query_string={"limit": "1"})
    assert len(page.get_json()) == 1 and 'rel="next"' in page.headers["Link"]
    target = page.headers["Link"].split(">", 1)[0].lstrip("<")
    assert target.startswith("?") and "cursor=" in target
    second = stack_client.get("/api/events" + target)
    assert second.status_code == 200 and second.get_json() != page.get_json()
    assert 'rel="prev"' in second.headers["Link"]
    bad = stack_client.get("/api/events", query_string={"cursor": "garbage"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "cursor"


@pytest.mark.parametrize("body, field", [
    ({"user_id": "u", "ticket_count": 1}, "event_id"),
    ({"event_id": 999999999, "user_id": "u", "ticket_count": 1}, "event_id"),
    ({"event_id": 1, "user_id": "u", "ticket_count": 0}, "ticket_count"),
    ({"event_id": 1, "user_id": "u", "ticket_count": 11}, "ticket_count"),
    ({"event_id": 1, "user_id": "u", "ticket_count": -5}, "ticket_count"),
    ({"event_id": 1, "ticket_count": 1}, "user_id"),
])
def test_bad_bookings_are_relayed_as_4xx_json(stack_client, body, field):
    response = stack_client.post("/api/book", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert 400 <= response.status_code < 500
    assert response.get_json()["field"] == field


def test_upload_is_verified_against_the_booking(stack_client, s3, bucket, upload_keys, open_event):
    event = open_event
    accepted = stack_client.post("/api/book", json={"event_id": event["id"], "user_id": "upload-test", "ticket_count": 1},
                                 headers={"Idempotency-Key": str(uuid.uuid4())}).get_json()
    booking_id = str(accepted["booking_id"])
    form = {"booking_id": booking_id, "file": (io.BytesIO(PNG), "id.png")}
    response = stack_client.post("/api/upload", data=form, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["verified"] is True
    metadata = s3.head_object(Bucket=bucket, Key=response.get_json()["upload_key"])["Metadata"]
    assert metadata["user-id"] == "upload-test" and metadata["event-id"] == str(event["id"])
    assert metadata["ticket-count"] == "1" and metadata["event-name"]

    before = upload_keys()
    unknown = stack_client.post("/api/upload", data={"booking_id": str(uuid.uuid4()),
                                                     "file": (io.BytesIO(PNG), "id.png")},
                                content_type="multipart/form-data")
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "booking_id"
    wrong_user = stack_client.post("/api/upload", data={"booking_id": booking_id, "user_id": "someone-else",
                                                        "file": (io.BytesIO(PNG), "id.png")},
                                   content_type="multipart/form-data")
    assert wrong_user.status_code == 422 and wrong_user.get_json()["field"] == "user_id"
    assert upload_keys() == before
