"""Bad input on every public endpoint -> 4xx JSON naming the field, and nothing written
(no rows in Postgres, no message on `ticket-bookings`, no DynamoDB item, no S3 object)."""

from __future__ import annotations

import io
import json
import uuid

import pytest

pytestmark = [pytest.mark.validated("sandbox"), pytest.mark.uses("kafka", "postgres", "aws")]

NO_EVENT = 2**31 - 1


def _aws(endpoints, service):
    import boto3

    return boto3.client(service, endpoint_url=endpoints["AWS_ENDPOINT_URL"], region_name=endpoints["AWS_DEFAULT_REGION"],
                        aws_access_key_id=endpoints["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=endpoints["AWS_SECRET_ACCESS_KEY"])


def test_bad_input_is_rejected_naming_the_field_and_writes_nothing(api, db, kafka, endpoints, new_event, uid):
    event = new_event(3)
    real = api.book({"event_id": event["id"], "user_id": f"{uid}-ok", "ticket_count": 1})
    assert real.accepted
    bad_user = f"{uid}-bad"
    ok_body = {"event_id": event["id"], "user_id": bad_user, "ticket_count": 1}
    emails = [f"{uid}-{i}@example.com" for i in range(3)]
    unknown_booking = str(uuid.uuid4())
    before = kafka.end_offsets("ticket-bookings")
    catalog = endpoints["EVENT_SERVICE_URL"].rstrip("/")

    def key():
        return {"Idempotency-Key": f"{uid}-{uuid.uuid4().hex[:8]}"}

    pdf = ("id.pdf", io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "application/pdf")
    cases = [
        # (name, method, url, kwargs, expected statuses, expected field)
        # (no Idempotency-Key at all is accepted: the seed's clients send none, see test_seed_clients.py)
        ("book: blank Idempotency-Key", "post", "/api/book", {"json": ok_body, "headers": {"Idempotency-Key": ""}},
         {400}, "Idempotency-Key"),
        # text Postgres cannot store: 400 naming the field, with or without a key
        ("book: NUL in user_id", "post", "/api/book", {"json": {**ok_body, "user_id": f"{bad_user}\x00"},
                                                       "headers": key()}, {400}, "user_id"),
        ("book: lone surrogate in user_id", "post", "/api/book", {
            "data": json.dumps({**ok_body, "user_id": bad_user + "\ud800"}).encode(),
            "headers": {"Content-Type": "application/json"}}, {400}, "user_id"),
        ("book: user_id over 128", "post", "/api/book", {"json": {**ok_body, "user_id": bad_user + "u" * 128},
                                                         "headers": key()}, {400}, "user_id"),
        ("book: missing event_id", "post", "/api/book", {"json": {"user_id": bad_user, "ticket_count": 1},
                                                         "headers": key()}, {400}, "event_id"),
        ("book: event_id not int", "post", "/api/book", {"json": {**ok_body, "event_id": "x"}, "headers": key()},
         {400}, "event_id"),
        ("book: unknown event", "post", "/api/book", {"json": {**ok_body, "event_id": NO_EVENT}, "headers": key()},
         {404}, "event_id"),
        ("book: empty user_id", "post", "/api/book", {"json": {**ok_body, "user_id": " "}, "headers": key()},
         {400}, "user_id"),
        ("book: ticket_count 0", "post", "/api/book", {"json": {**ok_body, "ticket_count": 0}, "headers": key()},
         {400}, "ticket_count"),
        ("book: ticket_count 11", "post", "/api/book", {"json": {**ok_body, "ticket_count": 11}, "headers": key()},
         {400}, "ticket_count"),
        ("book: ticket_count true", "post", "/api/book", {"json": {**ok_body, "ticket_count": True},
                                                          "headers": key()}, {400}, "ticket_count"),
        ("book: body not JSON", "post", "/api/book", {"data": b"{nope", "headers": {**key(),
                                                      "Content-Type": "application/json"}}, {400}, "body"),
        ("book: body a list", "post", "/api/book", {"json": [ok_body], "headers": key()}, {400}, "body"),
        ("book: body too large", "post", "/api/book", {"json": {**ok_body, "pad": "x" * 70000}, "headers": key()},
         {413}, "body"),
        ("event: id not int", "get", "/api/events/abc", {}, {400, 404}, "event_id"),
        ("event: unknown id", "get", f"/api/events/{NO_EVENT}", {}, {404}, "event_id"),
        ("booking: id not uuid", "get", "/api/bookings/not-a-uuid", {}, {400, 404}, "booking_id"),
        ("booking: unknown id", "get", f"/api/bookings/{unknown_booking}", {}, {404}, "booking_id"),
        ("users: missing name", "post", "/api/users", {"json": {"email": emails[0]}}, {400}, "name"),
        ("users: bad email", "post", "/api/users", {"json": {"name": "X", "email": f"{uid}-not-an-email"}},
         {400}, "email"),
        ("users: email not str", "post", "/api/users", {"json": {"name": "X", "email": 5}}, {400}, "email"),
        ("users: body not JSON", "post", "/api/users", {"data": b"name=x", "headers": {
            "Content-Type": "application/json"}}, {400, 415}, "body"),
        ("user: unknown id", "get", f"/api/users/{uuid.uuid4()}", {}, {404}, "user_id"),
        ("user: malformed id", "get", "/api/users/bad!id", {}, {400, 404}, "user_id"),
        ("upload: no file", "post", "/api/upload", {"data": {"booking_id": real.booking_id},
                                                    "files": {"other": pdf}}, {400}, "file"),
        ("upload: not multipart", "post", "/api/upload", {"data": {"booking_id": real.booking_id}}, {415}, "body"),
        ("upload: no booking_id", "post", "/api/upload", {"files": {"file": pdf}}, {400}, "booking_id"),
        ("upload: bad booking_id", "post", "/api/upload", {"data": {"booking_id": "../x"},
                                                           "files": {"file": pdf}}, {400, 404}, "booking_id"),
        ("upload: unknown booking", "post", "/api/upload", {"data": {"booking_id": unknown_booking},
                                                            "files": {"file": pdf}}, {404}, "booking_id"),
        ("upload: not a pdf/png/jpeg", "post", "/api/upload", {
            "data": {"booking_id": real.booking_id},
            "files": {"file": ("id.pdf", io.BytesIO(b"MZ\x90\x00 not a pdf"), "application/pdf")}}, {400, 415}, "file"),
        ("upload: extension disagrees", "post", "/api/upload", {
            "data": {"booking_id": real.booking_id},
            "files": {"file": ("id.png", io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "image/png")}}, {400, 415}, "file"),
        ("upload: wrong user", "post", "/api/upload", {"data": {"booking_id": real.booking_id, "user_id": "someone"},
                                                       "files": {"file": pdf}}, {422}, "user_id"),
        ("ticket: malformed id", "get", "/api/tickets/bad!id", {}, {400, 404}, "booking_id"),
        ("ticket: unknown id", "get", f"/api/tickets/{unknown_booking}", {}, {404}, "booking_id"),
        ("analytics: event_id not int", "get", "/api/analytics?event_id=abc", {}, {400}, "event_id"),
        ("catalog POST /events: capacity 0", "post", f"{catalog}/events",
         {"json": {"name": f"{uid}-bad-event", "date": "2027-01-01", "venue": "V", "capacity": 0}}, {400}, "capacity"),
        ("catalog POST /events: bad date", "post", f"{catalog}/events",
         {"json": {"name": f"{uid}-bad-event", "date": "someday", "venue": "V", "capacity": 5}}, {400}, "date"),
        ("catalog POST /events: NUL in name", "post", f"{catalog}/events",
         {"json": {"name": f"{uid}-bad-event\x00", "date": "2027-01-01", "venue": "V", "capacity": 5}}, {400}, "name"),
        ("catalog POST /events: lone surrogate in venue", "post", f"{catalog}/events",
         {"data": json.dumps({"name": f"{uid}-bad-event", "date": "2027-01-01", "venue": "\udc00", "capacity": 5}),
          "headers": {"Content-Type": "application/json"}}, {400}, "venue"),
        ("events: limit 0", "get", "/api/events?limit=0", {}, {400}, "limit"),
        ("events: limit 201", "get", "/api/events?limit=201", {}, {400}, "limit"),
        ("events: forged cursor", "get", "/api/events?cursor=not-ours", {}, {400}, "cursor"),
        ("events: NUL in the name filter", "get", "/api/events?name=a%00b", {}, {400}, "name"),
        ("users: NUL in name", "post", "/api/users", {"json": {"name": "X\x00", "email": emails[1]}}, {400}, "name"),
        ("users: lone surrogate in email", "post", "/api/users", {
            "data": json.dumps({"name": "X", "email": "\ud800" + emails[2]}),
            "headers": {"Content-Type": "application/json"}}, {400}, "email"),
    ]
    problems = []
    for name, method, url, kwargs, statuses, field in cases:
        if "files" in kwargs:  # fresh file objects per request
            kwargs = {**kwargs, "files": {k: (v[0], io.BytesIO(v[1].getvalue()), v[2]) for k, v in kwargs["files"].items()}}
        full = url if url.startswith("http") else api.base + url
        # a server may answer a rejected request before reading its body and then close the
        # connection (413 above all): one connection per case, so no case inherits a dying one
        kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), "Connection": "close"}}
        r = getattr(api.session, method)(full, timeout=10, **kwargs)
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code not in statuses or not isinstance(body, dict) or "error" not in body \
                or body.get("field") != field:
            problems.append(f"{name}: {r.status_code} {r.text[:160]!r} (want {sorted(statuses)} field={field})")
    assert not problems, "\n".join(problems)

    # nothing written
    assert db.query("SELECT count(*) FROM booking_requests WHERE user_id LIKE %s", (f"{bad_user}%",))[0][0] == 0
    assert db.query("SELECT count(*) FROM bookings WHERE user_id LIKE %s", (f"{bad_user}%",))[0][0] == 0
    assert db.query("SELECT count(*) FROM booking_requests WHERE idempotency_key LIKE %s",
                    (f"{uid}-%",))[0][0] == 0
    assert db.query("SELECT count(*) FROM events WHERE name LIKE %s", (f"{uid}-bad-event%",))[0][0] == 0
    after = kafka.end_offsets("ticket-bookings")
    # the one valid booking of this test (user {uid}-ok) was produced before `before`: nothing of ours after it
    ours = [m for m in kafka.read_range("ticket-bookings", before, after) if uid.encode() in (m["value"] or b"")]
    assert [json.loads(m["value"]) for m in ours] == []
    ddb = _aws(endpoints, "dynamodb")
    for email in emails:
        assert "Item" not in ddb.get_item(TableName=endpoints["USERS_TABLE"], Key={"user_id": {"S": f"email#{email}"}},
                                          ConsistentRead=True)
    s3 = _aws(endpoints, "s3")
    for prefix in (f"uploads/{real.booking_id}/", f"uploads/{unknown_booking}/", f"tickets/{unknown_booking}"):
        assert s3.list_objects_v2(Bucket=endpoints["RAW_DATA_BUCKET"], Prefix=prefix).get("KeyCount", 0) == 0, prefix
