"""Endpoints on real Postgres + Kafka (Flask test client; own topic)."""
import json
import socket
import time
import uuid

import pytest
from conftest import end_offsets, read_all, scalar

pytestmark = pytest.mark.integration


def key():
    return f"test-{uuid.uuid4()}"


def rows_for(engine, event_id):
    return scalar(engine, "SELECT count(*) FROM booking_requests WHERE event_id = :e", e=event_id)


def total_rows(engine):
    return scalar(engine, "SELECT count(*) FROM booking_requests")


def ready_body(client, settled=lambda body: "unknown: not checked yet" not in body["dependencies"].values()):
    """/ready's body once ``settled`` (dependencies are checked in the background); the replica's
    own readiness is 200 throughout."""
    deadline = time.monotonic() + 15
    while True:
        r = client.get("/ready")
        assert r.status_code == 200, r.get_json()
        if settled(r.get_json()) or time.monotonic() > deadline:
            return r.get_json()
        time.sleep(0.1)


def assert_retryable_503(r) -> dict:
    """svc_common's one error shape, retryable (booking_id beside it when one was recorded)."""
    body = r.get_json()
    assert r.status_code == 503 and isinstance(body["error"], str) and body["field"] is None, body
    assert body["retryable"] is True and set(body) - {"error", "field", "retryable"} <= {"booking_id"}, body
    return body


def test_health_ready(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    assert ready_body(client) == {"status": "ready", "own": {"claim-writer": "ok", "kafka-producer": "ok"},
                                  "dependencies": {"postgres": "ok", "kafka": "ok"}}


def test_book_publishes_once_and_answers_202(app, client, pg_engine, brokers, topics, make_event, caplog):
    eid = make_event(50)
    before = end_offsets(brokers, topics["bookings"])
    k = key()
    body = {"event_id": eid, "user_id": "alice", "ticket_count": 2}
    r = client.post("/book", json=body, headers={"Idempotency-Key": k, "X-Request-ID": "rid-book-1"})
    assert r.status_code == 202, r.get_json()
    out = r.get_json()
    bid = out["booking_id"]
    assert out == {"booking_id": bid, "status": "pending", "status_url": f"/bookings/{bid}"}
    assert r.headers["Location"] == f"/bookings/{bid}" and r.headers["X-Request-ID"] == "rid-book-1"
    assert end_offsets(brokers, topics["bookings"]) == before + 1
    msgs = [m for m in read_all(brokers, topics["bookings"], before + 1) if json.loads(m.value())["booking_id"] == bid]
    assert len(msgs) == 1
    payload = json.loads(msgs[0].value())
    assert payload["event_id"] == eid and payload["user_id"] == "alice" and payload["ticket_count"] == 2
    assert isinstance(payload["timestamp"], float)
    assert msgs[0].key() == str(eid).encode()
    assert dict(msgs[0].headers())["x-request-id"] == b"rid-book-1"
    # the access line says where the message went: `sandbox trace` follows it from there
    access = [rec for rec in caplog.records if rec.name == "booking-service.access" and getattr(rec, "booking_id", "") == bid]
    assert (access[0].partition, access[0].offset) == (msgs[0].partition(), msgs[0].offset())
    assert access[0].request_id == "rid-book-1" and access[0].replayed is False

    # pending until the consumer decides
    g = client.get(f"/bookings/{bid}")
    assert g.status_code == 200
    assert g.get_json() == {"booking_id": bid, "event_id": eid, "user_id": "alice", "ticket_count": 2,
                            "status": "pending", "reason": None}

    # same key + same body: same response, no new message, no new row
    r2 = client.post("/book", data=json.dumps({"ticket_count": 2, "user_id": "alice", "event_id": eid}),
                     content_type="application/json", headers={"Idempotency-Key": k})
    assert r2.status_code == 202 and r2.get_json() == out and r2.headers["Idempotent-Replayed"] == "true"
    # same key + different body: 422, nothing written
    r3 = client.post("/book", json={**body, "ticket_count": 3}, headers={"Idempotency-Key": k})
    assert r3.status_code == 422 and r3.get_json()["field"] == "Idempotency-Key"
    assert end_offsets(brokers, topics["bookings"]) == before + 1
    assert rows_for(pg_engine, eid) == 1

    m = client.get("/metrics").get_data(as_text=True)
    assert "bookings_published_total" in m and "bookings_idempotent_replays_total" in m
    assert 'route="/book",service="booking-service",status="202"' in m


BAD = [
    ({"data": "not json", "content_type": "application/json"}, 400, "body"),
    ({"data": "event_id=1", "content_type": "application/x-www-form-urlencoded"}, 400, "body"),
    ({"json": [1, 2]}, 400, "body"),
    ({"json": {"user_id": "u", "ticket_count": 1}}, 400, "event_id"),
    ({"json": {"event_id": "12", "user_id": "u", "ticket_count": 1}}, 400, "event_id"),
    ({"json": {"event_id": "EID", "ticket_count": 1}}, 400, "user_id"),
    ({"json": {"event_id": "EID", "user_id": "", "ticket_count": 1}}, 400, "user_id"),
    ({"json": {"event_id": "EID", "user_id": "u"}}, 400, "ticket_count"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": 0}}, 400, "ticket_count"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": -5}}, 400, "ticket_count"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": 11}}, 400, "ticket_count"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": 99999999999999999999}}, 400, "ticket_count"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": "2"}}, 400, "ticket_count"),
    ({"json": {"event_id": 2_000_000_000, "user_id": "u", "ticket_count": 1}}, 404, "event_id"),
    ({"json": {"event_id": "EID", "user_id": "u" * 5000, "ticket_count": 1}}, 413, "body"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": 1}, "key": "k" * 300}, 400, "Idempotency-Key"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": 1}, "key": " "}, 400, "Idempotency-Key"),
    ({"json": {"event_id": "EID", "user_id": "u", "ticket_count": 1}, "key": "no-key:x"}, 400, "Idempotency-Key"),
    # what Postgres cannot store: NUL, a lone surrogate (JSON "\ud800"), longer than the column
    ({"json": {"event_id": "EID", "user_id": "nul\x00here", "ticket_count": 1}}, 400, "user_id"),
    ({"data": '{"event_id": EID, "user_id": "lone\\ud800", "ticket_count": 1}', "content_type": "application/json"},
     400, "user_id"),
    ({"json": {"event_id": "EID", "user_id": "u" * 129, "ticket_count": 1}}, 400, "user_id"),
    ({"json": {"event_id": "EID", "user_id": 7, "ticket_count": 1}}, 400, "user_id"),
]


@pytest.mark.parametrize("kwargs,status,field", BAD)
def test_bad_input_writes_nothing(client, pg_engine, brokers, topics, make_event, kwargs, status, field):
    eid = make_event(10)
    kwargs = dict(kwargs)
    if "json" in kwargs and isinstance(kwargs["json"], dict):
        kwargs["json"] = {k: (eid if v == "EID" else v) for k, v in kwargs["json"].items()}
    if isinstance(kwargs.get("data"), str):
        kwargs["data"] = kwargs["data"].replace("EID", str(eid))
    headers = {"Idempotency-Key": kwargs.pop("key", key())}
    rows, offsets = total_rows(pg_engine), end_offsets(brokers, topics["bookings"])
    r = client.post("/book", headers=headers, **kwargs)
    assert r.status_code == status
    body = r.get_json()
    assert body["field"] == field and body["error"]
    assert total_rows(pg_engine) == rows
    assert end_offsets(brokers, topics["bookings"]) == offsets


def test_get_booking_errors(client):
    r = client.get(f"/bookings/{uuid.uuid4()}")
    assert r.status_code == 404 and r.get_json()["field"] == "booking_id"
    r = client.get("/bookings/not-a-uuid")
    assert r.status_code == 400 and r.get_json()["field"] == "booking_id"
    assert client.get("/nope").status_code == 404
    r = client.get("/book")
    assert r.status_code == 405 and r.is_json


def test_broker_down_gives_503_and_retry_reuses_booking_id(app, client, pg_engine, topics, make_event):
    from booking_service.app import create_app

    eid = make_event(10)
    k = key()
    body = {"event_id": eid, "user_id": "bob", "ticket_count": 1}
    # a broker that accepts connections and never answers: the first booking is written and then
    # times out in delivery (a refused port would be known down before the first request, a race)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    down = create_app({"BOOKINGS_TOPIC": topics["bookings"], "KAFKA_BROKERS": f"127.0.0.1:{silent.getsockname()[1]}",
                       "DELIVERY_TIMEOUT_MS": 1500})
    try:
        c = down.test_client()
        r = c.post("/book", json=body, headers={"Idempotency-Key": k})
        failed_id = assert_retryable_503(r)["booking_id"]
        # ready (the replica itself can serve), with Kafka reported down
        deps = ready_body(c, lambda b: b["dependencies"]["kafka"] != "ok")["dependencies"]
        assert deps["postgres"] == "ok" and deps["kafka"].startswith("unavailable: "), deps
        # now known down: the next booking is refused at once, before anything is written
        other, rows = key(), rows_for(pg_engine, eid)
        started = time.monotonic()
        r = c.post("/book", json=body, headers={"Idempotency-Key": other})
        assert time.monotonic() - started < 0.5
        assert assert_retryable_503(r) == {"error": "bookings cannot be queued now (Kafka unavailable), retry",
                                           "field": None, "retryable": True}
        assert rows_for(pg_engine, eid) == rows
    finally:
        down.extensions["booking_service.publisher"].close(0)
        down.extensions["booking_service.engine"].dispose()
        silent.close()
    # the record does not claim success: not published, status unknown to readers
    assert scalar(pg_engine, "SELECT count(*) FROM booking_requests WHERE idempotency_key = :k "
                             "AND published_at IS NULL", k=k) == 1
    stored_id = scalar(pg_engine, "SELECT booking_id::text FROM booking_requests WHERE idempotency_key = :k", k=k)
    assert failed_id == stored_id
    assert client.get(f"/bookings/{stored_id}").status_code == 404
    # a retry with the same key (broker back) publishes the same booking id
    r = client.post("/book", json=body, headers={"Idempotency-Key": k})
    assert r.status_code == 202 and r.get_json()["booking_id"] == stored_id
    assert client.get(f"/bookings/{stored_id}").get_json()["status"] == "pending"


def test_database_down_gives_503_json(topics):
    from booking_service.app import create_app

    down = create_app({"BOOKINGS_TOPIC": topics["bookings"],
                       "DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none"})
    try:
        c = down.test_client()
        r = c.post("/book", json={"event_id": 1, "user_id": "u", "ticket_count": 1}, headers={"Idempotency-Key": key()})
        assert_retryable_503(r)
        assert_retryable_503(c.get(f"/bookings/{uuid.uuid4()}"))
        # ready (the replica itself can serve), with Postgres reported down
        deps = ready_body(c, lambda b: b["dependencies"]["postgres"] != "ok")["dependencies"]
        assert deps["postgres"].startswith("unavailable: ") and deps["kafka"] == "ok", deps
    finally:
        down.extensions["booking_service.publisher"].close(0)
        down.extensions["booking_service.engine"].dispose()


def test_without_idempotency_key_each_request_is_one_booking_and_says_it_is_not_deduplicated(
        client, pg_engine, brokers, topics, make_event):
    """The seed's clients send no key: 202, one record and one message per request, and the answer
    says a retry would not be recognised (Idempotency-Key-Missing: true)."""
    eid = make_event(10)
    before = end_offsets(brokers, topics["bookings"])
    body = {"user_id": "seed-client", "event_id": eid, "ticket_count": 1}
    first = client.post("/book", json=body)
    second = client.post("/book", json=body)  # the same request again: a second booking, as the header warned
    for r in (first, second):
        assert r.status_code == 202, r.get_json()
        assert r.headers["Idempotency-Key-Missing"] == "true" and "Idempotent-Replayed" not in r.headers
        assert r.get_json()["status"] == "pending"
    ids = {first.get_json()["booking_id"], second.get_json()["booking_id"]}
    assert len(ids) == 2
    assert end_offsets(brokers, topics["bookings"]) == before + 2
    stored = {row for row, in _rows(pg_engine, "SELECT idempotency_key FROM booking_requests WHERE event_id = :e", e=eid)}
    assert stored == {f"no-key:{bid}" for bid in ids}
    # with a key nothing changed: no such header
    keyed = client.post("/book", json=body, headers={"Idempotency-Key": key()})
    assert keyed.status_code == 202 and "Idempotency-Key-Missing" not in keyed.headers
    # a keyless request that is refused says nothing about deduplication either way but is JSON
    bad = client.post("/book", json={**body, "ticket_count": 0})
    assert bad.status_code == 400 and bad.get_json()["field"] == "ticket_count"


def _rows(engine, sql: str, **params):
    from sqlalchemy import text

    with engine.connect() as c:
        return c.execute(text(sql), params).all()


def test_unstorable_input_interleaved_under_load_fails_only_itself(client, pg_engine, make_event):
    """Bad user ids (NUL, lone surrogate) sent among many concurrent good bookings: every good one
    202 (none shares a failed group commit), every bad one 400 naming user_id, nothing stored for them."""
    from concurrent.futures import ThreadPoolExecutor

    from flask.testing import FlaskClient

    eid = make_event(1000)
    app = client.application
    bad_bodies = [f'{{"event_id": {eid}, "user_id": "nul\\u0000x", "ticket_count": 1}}',
                  f'{{"event_id": {eid}, "user_id": "lone\\ud83d", "ticket_count": 1}}']

    def one(i: int):
        c = FlaskClient(app)
        if i % 4 == 3:
            return "bad", c.post("/book", data=bad_bodies[i % 2], content_type="application/json",
                                 headers={"Idempotency-Key": key()})
        return "good", c.post("/book", json={"event_id": eid, "user_id": f"load-{i}", "ticket_count": 1},
                              headers={"Idempotency-Key": key()} if i % 2 else {})

    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(one, range(160)))
    good = [r for kind, r in results if kind == "good"]
    bad = [r for kind, r in results if kind == "bad"]
    assert [r.status_code for r in good] == [202] * len(good), [r.get_json() for r in good if r.status_code != 202][:3]
    assert all(r.status_code == 400 and r.get_json()["field"] == "user_id" for r in bad), \
        [(r.status_code, r.get_json()) for r in bad][:3]
    assert rows_for(pg_engine, eid) == len(good)
