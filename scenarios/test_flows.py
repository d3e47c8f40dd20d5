"""Flows 1, 3 and 4 of DESIGN.md through the public gateway (FRONTEND_URL)."""

from __future__ import annotations

import io
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress

import pytest

from sandbox.poll import until

pytestmark = pytest.mark.validated("sandbox")


def test_browse_book_confirmed(api, db, new_event, uid):
    event = new_event(5)
    listed = api.list_events(name=event["name"])  # one page of events: found by the page's name filter
    assert listed.status_code == 200
    assert [(e["id"], e["tickets_available"]) for e in listed.json()] == [(event["id"], 5)]
    one = api.get(f"/api/events/{event['id']}")
    assert one.status_code == 200 and one.json()["capacity"] == 5

    attempt = api.book({"event_id": event["id"], "user_id": f"{uid}-u", "ticket_count": 2})
    assert attempt.accepted, attempt.statuses
    assert attempt.response["status"] == "pending"
    assert attempt.response["status_url"] == f"/api/bookings/{attempt.booking_id}"
    final = api.wait_final(attempt.booking_id)
    assert final and final["status"] == "confirmed", final
    assert final["ticket_count"] == 2 and final["event_id"] == event["id"]
    assert api.get(f"/api/events/{event['id']}").json()["tickets_available"] == 3
    assert db.event(event["id"]) == (5, 3)


def test_200_concurrent_bookings_for_100_seats_never_oversell(api, db, new_event, uid, endpoints):
    from scenarios.lib.clients import Api

    capacity, n = 100, 200
    event = new_event(capacity)
    seen_available: list[int] = []
    stop = threading.Event()

    def sample():  # tickets_available as users see it, while the race runs (bounded)
        sampler = Api(endpoints)
        for _ in range(2000):
            if stop.is_set():
                return
            r = sampler.get(f"/api/events/{event['id']}")
            if r.status_code == 200:
                seen_available.append(r.json()["tickets_available"])
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    clients = [Api(endpoints) for _ in range(50)]
    barrier = threading.Barrier(50, timeout=30)

    def book(i: int):
        client = clients[i % 50]
        if i < 50:
            barrier.wait()  # the first 50 requests leave together
        return client.book({"event_id": event["id"], "user_id": f"{uid}-{i}", "ticket_count": 1})

    with ThreadPoolExecutor(50) as pool:
        attempts = list(pool.map(book, range(n)))
    accepted = [a for a in attempts if a.accepted]
    assert len(accepted) == n, [a.statuses for a in attempts if not a.accepted][:5]

    def final(a):
        return api.wait_final(a.booking_id, deadline_s=45)

    with ThreadPoolExecutor(16) as pool:
        finals = list(pool.map(final, accepted))
    stop.set()
    sampler.join(10)
    assert all(f is not None for f in finals), "every booking has a final status"
    statuses = [f["status"] for f in finals]
    assert statuses.count("confirmed") == capacity
    assert statuses.count("rejected") == n - capacity
    assert all(f["reason"] == "sold_out" for f in finals if f["status"] == "rejected")

    rows = db.bookings_for_event(event["id"])
    assert len(rows) == n == len({r[0] for r in rows})
    assert sum(r[2] for r in rows if r[3] == "confirmed") == capacity
    assert db.event(event["id"]) == (capacity, 0)
    assert api.get(f"/api/events/{event['id']}").json()["tickets_available"] == 0
    assert seen_available and min(seen_available) >= 0


def test_same_idempotency_key_twice_is_one_booking(api, db, new_event, uid):
    event = new_event(10)
    body = {"event_id": event["id"], "user_id": f"{uid}-u", "ticket_count": 3}
    key = f"{uid}-key"
    first = api.post("/api/book", json=body, headers={"Idempotency-Key": key})
    second = api.post("/api/book", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 202
    assert first.json()["booking_id"] == second.json()["booking_id"]
    # the gateway does not relay booking-service's `Idempotent-Replayed: true` header (frontend/api.py
    # book() rebuilds the response); booking-service itself sends it:
    direct = api.session.post(api.booking + "/book", json=body, headers={"Idempotency-Key": key}, timeout=10)
    assert direct.status_code == 202 and direct.json()["booking_id"] == first.json()["booking_id"]
    assert direct.headers.get("Idempotent-Replayed") == "true"
    # concurrent twins of a new key
    twin_key = f"{uid}-twin"
    twin_body = {**body, "ticket_count": 1}
    with ThreadPoolExecutor(8) as pool:
        twins = list(pool.map(lambda _: api.book(twin_body, key=twin_key), range(8)))
    assert all(t.accepted for t in twins) and len({t.booking_id for t in twins}) == 1
    # same key, different body -> 422 naming the header, nothing new
    clash = api.post("/api/book", json={**body, "ticket_count": 4}, headers={"Idempotency-Key": key})
    assert clash.status_code == 422 and clash.json()["field"] == "Idempotency-Key"

    for bid in (first.json()["booking_id"], twins[0].booking_id):
        assert api.wait_final(bid)["status"] == "confirmed"
    rows = db.bookings_for_event(event["id"])
    assert sorted(r[0] for r in rows) == sorted({first.json()["booking_id"], twins[0].booking_id})
    assert db.query("SELECT count(*) FROM booking_requests WHERE idempotency_key IN (%s, %s)",
                    (key, twin_key))[0][0] == 2
    assert db.event(event["id"]) == (10, 10 - 3 - 1)


def _tiny_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
            b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


@pytest.mark.uses("kafka", "postgres", "booking-consumer", "aws")
def test_upload_runs_lambda_and_a_pdf_ticket_appears(api, endpoints, new_event, new_user, created):
    import boto3
    from pypdf import PdfReader

    user = new_user("Grace Scenario")
    event = new_event(4)
    attempt = api.book({"event_id": event["id"], "user_id": user["user_id"], "ticket_count": 2})
    assert attempt.accepted
    created["s3_bookings"].append(attempt.booking_id)
    assert api.wait_final(attempt.booking_id)["status"] == "confirmed"
    up = api.post("/api/upload", data={"booking_id": attempt.booking_id, "user_id": user["user_id"]},
                  files={"file": ("id-proof.pdf", io.BytesIO(_tiny_pdf()), "application/pdf")})
    assert up.status_code == 201, up.text
    assert up.json()["verified"] is True and up.json()["upload_key"].startswith(f"uploads/{attempt.booking_id}/")

    ticket = None

    def issued() -> bool:
        nonlocal ticket
        ticket = api.get(f"/api/tickets/{attempt.booking_id}")
        return ticket.status_code == 200

    with suppress(TimeoutError):  # the assertion shows the last answer
        until(issued, timeout=40, what=f"the ticket of {attempt.booking_id}", interval=0.5)
    assert ticket is not None and ticket.status_code == 200, ticket.text if ticket is not None else None
    assert ticket.content.startswith(b"%PDF")
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(ticket.content)).pages)
    assert attempt.booking_id in text
    assert "Grace Scenario" in text
    assert event["name"] in text

    s3 = boto3.client("s3", endpoint_url=endpoints["AWS_ENDPOINT_URL"], region_name=endpoints["AWS_DEFAULT_REGION"],
                      aws_access_key_id=endpoints["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=endpoints["AWS_SECRET_ACCESS_KEY"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=endpoints["RAW_DATA_BUCKET"],
                                                  Prefix=f"tickets/{attempt.booking_id}").get("Contents", [])]
    assert keys == [f"tickets/{attempt.booking_id}.pdf"]


@pytest.mark.uses("aws")
def test_user_register_and_get(api, endpoints, uid, created):
    import boto3

    email = f"{uid}@Example.com"
    registered = api.post("/api/users", json={"name": "Linus Scenario", "email": email})
    assert registered.status_code == 201, registered.text
    user = registered.json()
    created["users"].append(user)
    uuid.UUID(user["user_id"])
    got = api.get(f"/api/users/{user['user_id']}")
    assert got.status_code == 200 and got.json()["name"] == "Linus Scenario"
    assert got.json()["email"].lower() == email.lower()
    again = api.post("/api/users", json={"name": "Someone Else", "email": email.lower()})
    assert again.status_code == 409 and again.json()["field"] == "email"

    ddb = boto3.client("dynamodb", endpoint_url=endpoints["AWS_ENDPOINT_URL"], region_name=endpoints["AWS_DEFAULT_REGION"],
                       aws_access_key_id=endpoints["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=endpoints["AWS_SECRET_ACCESS_KEY"])
    item = ddb.get_item(TableName=endpoints["USERS_TABLE"], Key={"user_id": {"S": user["user_id"]}},
                        ConsistentRead=True).get("Item")
    assert item and item["name"]["S"] == "Linus Scenario"
