"""`sandbox trace`: one booking and one upload followed across the running system by each of their
ids (booking id, request id, S3 key), from the logs store and the systems' own records."""

from __future__ import annotations

import io
import time
import uuid

import pytest

from sandbox.poll import until

pytestmark = pytest.mark.validated("sandbox")

BOOKING_PATH = ["frontend", "booking-service", "kafka", "postgres", "booking-consumer", "kafka", "analytics"]


def _booking_path(components: list[str]) -> bool:
    """The booking's hops in time order; the batch's line and the status event race (another
    replica's outbox relay may send the event before this one has logged its batch)."""
    return components[:4] == BOOKING_PATH[:4] and sorted(components[4:6]) == sorted(BOOKING_PATH[4:6]) \
        and components[6:] == BOOKING_PATH[6:len(components)]


@pytest.fixture
def logs(endpoints):
    if "LOGS_URL" not in endpoints:
        pytest.skip("no logs store on this target (observability components run in the processes and cluster modes)")


def _complete(target, ident: str, timeout: float) -> dict:
    """The trace of ``ident`` once complete (each attempt waits up to 3 s for late lines itself)."""
    last: dict = {}

    def complete():
        nonlocal last
        last = target.trace(ident)
        return last if last["exit"] == 0 else None

    try:
        return until(complete, timeout=timeout, what=f"a complete trace of {ident}", interval=1)
    except TimeoutError:
        pytest.fail(f"the trace of {ident} never completed; the last: {last}")


def _components(trace: dict) -> list[str]:
    return [hop["component"] for hop in trace["hops"]]


@pytest.mark.uses("kafka", "postgres", "booking-consumer", "flink")
def test_a_booking_is_traced_by_booking_id_and_request_id_to_its_analytics_window(
        api, target, logs, new_event, uid, window_seconds):
    event = new_event(4)
    # book at the start of a window, so the trace sees the path stop at the open window first
    until(lambda: time.time() % window_seconds < 1, timeout=window_seconds + 2, interval=0.05,
          what="the start of an analytics window")
    request_id = f"{uid}-book"
    r = api.post("/api/book", json={"event_id": event["id"], "user_id": f"{uid}-u", "ticket_count": 2},
                 headers={"Idempotency-Key": str(uuid.uuid4()), "X-Request-ID": request_id})
    assert r.status_code == 202, r.text
    booking_id = r.json()["booking_id"]
    assert api.wait_final(booking_id)["status"] == "confirmed"

    def up_to_the_window():  # every line shipped, the window still open
        trace = target.trace(booking_id, wait_s=0)
        return trace if trace["exit"] == 1 and trace["stopped_at"]["component"] == "analytics" else None

    stopped = until(up_to_the_window, timeout=window_seconds * 0.7, interval=0.3,
                    what=f"the trace of {booking_id} stopped at its open window")
    assert len(stopped["hops"]) == 6 and _booking_path(_components(stopped)) and stopped["complete"] is False
    assert "not closed yet" in stopped["stopped_at"]["expected"] and isinstance(stopped["last_lines"], list)

    trace = _complete(target, booking_id, timeout=window_seconds + 30)
    hops = trace["hops"]
    assert trace["kind"] == "booking_id" and len(hops) == 7 and _booking_path(_components(trace)), trace
    assert [h["status"] for h in hops[:2]] == ["202", "202"] and hops[0]["pod"].startswith("frontend-")
    assert f"x-request-id {request_id}" in hops[2]["what"] and hops[3]["status"] == "confirmed"
    assert any(h["what"].startswith("booking-status: status confirmed") for h in hops[4:6])
    assert f"of event {event['id']}: 1 booking(s), 2 ticket(s)" in hops[6]["what"]
    offsets = [h["offset_ms"] for h in hops]
    assert offsets[0] == 0 and offsets == sorted(offsets) and offsets[5] < 5000, offsets

    by_request = target.trace(request_id)
    assert by_request["exit"] == 0 and by_request["kind"] == "request_id", by_request
    assert [(h["component"], h["what"]) for h in by_request["hops"]] == [(h["component"], h["what"]) for h in hops]


@pytest.mark.uses("kafka", "postgres", "booking-consumer", "aws")
def test_an_upload_is_traced_by_s3_key_ticket_key_and_request_id_to_its_pdf(
        api, target, logs, new_event, new_user, created, uid):
    user, event = new_user("Trace Scenario"), new_event(2)
    attempt = api.book({"event_id": event["id"], "user_id": user["user_id"], "ticket_count": 1})
    assert attempt.accepted
    created["s3_bookings"].append(attempt.booking_id)
    assert api.wait_final(attempt.booking_id)["status"] == "confirmed"
    request_id = f"{uid}-upload"
    up = api.post("/api/upload", data={"booking_id": attempt.booking_id, "user_id": user["user_id"]},
                  files={"file": ("id.png", io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 32), "image/png")},
                  headers={"X-Request-ID": request_id})
    assert up.status_code == 201, up.text
    key, ticket = up.json()["upload_key"], f"tickets/{attempt.booking_id}.pdf"

    trace = _complete(target, key, timeout=60)  # a cold Lambda environment takes seconds
    assert trace["kind"] == "s3_key" and _components(trace) == ["frontend", "s3", "lambda", "lambda", "s3", "lambda"]
    put, invoked, processed, pdf, finished = trace["hops"][1:]
    assert f"request-id {request_id}" in put["what"] and "S3 notification ObjectCreated:Put" in invoked["what"]
    assert processed["status"] in ("created", "exists") and pdf["what"].startswith(f"{ticket} (")
    assert finished["status"] == "ok" and " ms" in finished["what"]

    assert [h["what"] for h in target.trace(ticket)["hops"]] == [h["what"] for h in trace["hops"]]
    by_request = target.trace(request_id)
    assert by_request["exit"] == 0, by_request
    assert {"frontend", "booking-service", "s3", "lambda"} <= set(_components(by_request))


@pytest.mark.uses("postgres")
def test_an_unknown_id_exits_2_naming_the_fix(target, logs):
    answer = target.trace(str(uuid.uuid4()), wait_s=0)
    assert answer["exit"] == 2 and "nothing in the logs store or the systems mentions" in answer["error"]
