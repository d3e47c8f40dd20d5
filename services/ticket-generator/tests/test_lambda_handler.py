"""The handler against a real S3/DynamoDB endpoint (moto server or the sandbox's), with real event shapes."""
from __future__ import annotations

import io
import uuid
from urllib.parse import quote, quote_plus

import lambda_function
import pytest
from pypdf import PdfReader


def s3_event(bucket: str, key: str, event_name: str = "ObjectCreated:Put") -> dict:
    """The shape S3 delivers to Lambda (key URL-encoded as S3 does)."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-25T14:00:00.000Z", "eventName": event_name,
        "userIdentity": {"principalId": "AWS:TEST"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "REQ", "x-amz-id-2": "ID2"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "tickets",
               "bucket": {"name": bucket, "ownerIdentity": {"principalId": "TEST"}, "arn": f"arn:aws:s3:::{bucket}"},
               "object": {"key": quote_plus(key, safe="/"), "size": 4, "eTag": "etag", "sequencer": "0055AED6DCD90281E5"}},
    }]}


class Context:
    aws_request_id = "test-invocation"


def tickets_in(s3, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="tickets/").get("Contents", [])]


@pytest.fixture()
def user(dynamodb, users_table):
    user_id = str(uuid.uuid4())
    dynamodb.put_item(TableName=users_table, Item={
        "user_id": {"S": user_id}, "name": {"S": "Grace Hopper"}, "email": {"S": "grace@example.com"},
        "created_at": {"S": "2026-11-25T13:00:00.000Z"}, "kind": {"S": "user"}})
    yield user_id
    dynamodb.delete_item(TableName=users_table, Key={"user_id": {"S": user_id}})  # the sandbox's table, maybe


def test_same_event_twice_makes_one_pdf_with_resolved_details(s3, bucket, user):
    booking_id = uuid.uuid4().hex
    key = f"uploads/{booking_id}/id proof+scan.png"
    s3.put_object(Bucket=bucket, Key=key, Body=b"\x89PNG", Metadata={
        "booking-id": booking_id, "user-id": user, "event-id": "3",
        "event-name": quote("Jazz Évening", safe=" "), "ticket-count": "2", "request-id": "rid-upload-1"})
    event = s3_event(bucket, key)

    first = lambda_function.lambda_handler(event, Context())
    ticket_key = f"tickets/{booking_id}.pdf"
    assert first["tickets"] == [ticket_key]
    assert first["results"][0]["status"] == "created"
    # who asked, on the result (and so on the "record processed" line `sandbox trace` reads)
    assert first["results"][0]["booking_id"] == booking_id and first["results"][0]["upload_request_id"] == "rid-upload-1"
    body = s3.get_object(Bucket=bucket, Key=ticket_key)
    assert body["ContentType"] == "application/pdf"
    data = body["Body"].read()

    second = lambda_function.lambda_handler(event, Context())
    assert second["tickets"] == [ticket_key]
    assert second["results"][0]["status"] == "exists"
    assert [k for k in tickets_in(s3, bucket) if booking_id in k] == [ticket_key]
    assert s3.get_object(Bucket=bucket, Key=ticket_key)["Body"].read() == data

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    for expected in (f"Booking ID: {booking_id}", "Name: Grace Hopper", "grace@example.com",
                     "Event: Jazz Evening", "Tickets: 2", key):
        assert expected in text


def test_upload_without_metadata_gets_a_hash_key_and_is_idempotent(s3, bucket):
    key = f"uploads/anon-{uuid.uuid4().hex}.pdf"
    s3.put_object(Bucket=bucket, Key=key, Body=b"%PDF-1.4")
    event = s3_event(bucket, key)
    before = set(tickets_in(s3, bucket))
    first = lambda_function.lambda_handler(event, None)
    second = lambda_function.lambda_handler(event, None)
    assert first["tickets"] == second["tickets"]
    assert first["tickets"][0].startswith("tickets/upload-")
    assert set(tickets_in(s3, bucket)) - before == {first["tickets"][0]}
    text = PdfReader(io.BytesIO(s3.get_object(Bucket=bucket, Key=first["tickets"][0])["Body"].read())).pages[0].extract_text()
    assert "Booking ID: (unknown)" in text and key in text


def test_unsafe_booking_id_metadata_does_not_escape_tickets_prefix(s3, bucket):
    key = f"uploads/{uuid.uuid4().hex}.png"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x", Metadata={"booking-id": "../../etc"})
    result = lambda_function.lambda_handler(s3_event(bucket, key), None)
    assert result["tickets"][0].startswith("tickets/upload-")


def test_other_prefixes_and_event_types_are_ignored(s3, bucket):
    before = set(tickets_in(s3, bucket))
    s3.put_object(Bucket=bucket, Key="tickets/elsewhere.txt", Body=b"x")
    other = lambda_function.lambda_handler(s3_event(bucket, "tickets/elsewhere.txt"), None)
    assert other["tickets"] == [] and other["results"][0]["status"] == "ignored"
    removed = lambda_function.lambda_handler(s3_event(bucket, "uploads/x.png", "ObjectRemoved:Delete"), None)
    assert removed["tickets"] == [] and removed["results"][0]["status"] == "ignored"
    assert lambda_function.lambda_handler({}, None) == {"tickets": [], "results": []}
    assert set(tickets_in(s3, bucket)) - {"tickets/elsewhere.txt"} == before - {"tickets/elsewhere.txt"}
    s3.delete_object(Bucket=bucket, Key="tickets/elsewhere.txt")


def test_deleted_upload_is_skipped(s3, bucket):
    result = lambda_function.lambda_handler(s3_event(bucket, f"uploads/gone-{uuid.uuid4().hex}.png"), None)
    assert result == {"tickets": [], "results": [result["results"][0]]}
    assert result["results"][0]["reason"] == "upload no longer exists"


def test_several_records_in_one_event(s3, bucket):
    ids = [uuid.uuid4().hex for _ in range(3)]
    records = []
    for booking_id in ids:
        key = f"uploads/{booking_id}/proof.jpg"
        s3.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8\xff", Metadata={"booking-id": booking_id})
        records += s3_event(bucket, key)["Records"]
    result = lambda_function.lambda_handler({"Records": records}, None)
    assert result["tickets"] == [f"tickets/{b}.pdf" for b in ids]


def test_result_is_json_serialisable(s3, bucket):
    import json
    key = f"uploads/{uuid.uuid4().hex}.png"
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    json.dumps(lambda_function.lambda_handler(s3_event(bucket, key), None))
