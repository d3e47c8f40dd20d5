"""/api/upload into the real bucket and /api/tickets out of it; the ticket Lambda in between."""
from __future__ import annotations

import io
import uuid
from urllib.parse import quote_plus

import pytest
from frontend_testlib import JPEG, PDF, PNG
from pypdf import PdfReader


def upload(client, booking_id=None, data=PNG, filename="id.png", **fields):
    form = {"booking_id": "bk-" + uuid.uuid4().hex[:8] if booking_id is None else booking_id, **fields}
    if data is not None:
        form["file"] = (io.BytesIO(data), filename)
    return client.post("/api/upload", data=form, content_type="multipart/form-data")


@pytest.mark.parametrize("data, filename, content_type", [
    (PNG, "passport.PNG", "image/png"), (JPEG, "scan.jpeg", "image/jpeg"), (JPEG, "scan.jpg", "image/jpeg"),
    (PDF, "id card.pdf", "application/pdf"),
])
def test_upload_stores_the_file_with_metadata(client, s3, bucket, data, filename, content_type):
    booking_id = uuid.uuid4().hex
    response = upload(client, booking_id, data, filename, user_id="user-1", event_id="7")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["upload_key"].startswith(f"uploads/{booking_id}/")
    assert body["ticket_url"] == f"/api/tickets/{booking_id}"
    assert body["verified"] is False  # no booking service configured in this test
    head = s3.head_object(Bucket=bucket, Key=body["upload_key"])
    assert head["ContentType"] == content_type
    assert head["Metadata"]["booking-id"] == booking_id
    assert head["Metadata"]["user-id"] == "user-1"
    assert head["Metadata"]["event-id"] == "7"
    assert s3.get_object(Bucket=bucket, Key=body["upload_key"])["Body"].read() == data


@pytest.mark.parametrize("kwargs, status, field", [
    ({"booking_id": ""}, 400, "booking_id"),
    ({"booking_id": "../etc"}, 400, "booking_id"),
    ({"booking_id": "x" * 65}, 400, "booking_id"),
    ({"user_id": "bad id"}, 400, "user_id"),
    ({"event_id": "0"}, 400, "event_id"),
    ({"event_id": "abc"}, 400, "event_id"),
    ({"data": None}, 400, "file"),
    ({"data": b""}, 400, "file"),
    ({"data": b"hello world", "filename": "id.txt"}, 415, "file"),
    ({"data": b"MZ\x90\x00", "filename": "id.png"}, 415, "file"),
    ({"data": PNG, "filename": "id.pdf"}, 415, "file"),
    ({"data": PDF, "filename": "id.exe"}, 415, "file"),
])
def test_bad_uploads_are_4xx_json_and_write_nothing(client, upload_keys, kwargs, status, field):
    before = upload_keys()
    response = upload(client, **kwargs)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["field"] == field
    assert upload_keys() == before


def test_oversize_file_is_413_and_writes_nothing(make_frontend, upload_keys):
    client = make_frontend(MAX_UPLOAD_BYTES=1024).test_client()
    before = upload_keys()
    response = upload(client, data=PNG + b"\x00" * 2000)  # over the file limit, under the request limit
    assert response.status_code == 413 and response.get_json()["field"] == "file"
    response = upload(client, data=PNG + b"\x00" * 200_000)  # over the whole-request limit
    assert response.status_code == 413 and response.get_json()["field"] == "file"
    assert upload_keys() == before


def test_non_multipart_upload_is_415(client, upload_keys):
    before = upload_keys()
    response = client.post("/api/upload", json={"booking_id": "abc"})
    assert response.status_code == 415 and response.get_json()["field"] == "body"
    assert upload_keys() == before


def test_upload_without_bucket_is_503(make_frontend, upload_keys):
    response = upload(make_frontend(RAW_DATA_BUCKET="").test_client())
    assert response.status_code == 503 and response.is_json


def test_upload_with_unreachable_booking_service_is_503_and_writes_nothing(make_frontend, dead_url, upload_keys):
    before = upload_keys()
    response = upload(make_frontend(BOOKING_SERVICE_URL=dead_url).test_client())
    assert response.status_code == 503
    assert upload_keys() == before


def test_ticket_not_generated_yet_is_404_json(client):
    response = client.get(f"/api/tickets/{uuid.uuid4().hex}")
    assert response.status_code == 404
    assert response.get_json()["field"] == "booking_id"


@pytest.mark.parametrize("booking_id", ["a.b", "x" * 65, "..%2Fsecret"])
def test_ticket_bad_id_is_404_json(client, booking_id):
    response = client.get(f"/api/tickets/{booking_id}")
    assert response.status_code == 404 and response.is_json


def test_ticket_is_streamed_from_s3(client, s3, bucket):
    booking_id = uuid.uuid4().hex
    s3.put_object(Bucket=bucket, Key=f"tickets/{booking_id}.pdf", Body=PDF, ContentType="application/pdf")
    response = client.get(f"/api/tickets/{booking_id}")
    assert response.status_code == 200
    assert response.content_type == "application/pdf"
    assert response.data == PDF
    assert f"ticket-{booking_id}.pdf" in response.headers["Content-Disposition"]
    assert client.head(f"/api/tickets/{booking_id}").status_code == 200


def test_register_upload_lambda_download(client, bucket):
    """The whole ticket flow with real services: user-service, S3, and the Lambda handler invoked with
    the S3 event for the upload (the sandbox's executor does that invocation in the real flow)."""
    import lambda_function
    user = client.post("/api/users", json={"name": "Katherine Johnson", "email": f"kj-{uuid.uuid4().hex[:8]}@example.com"}).get_json()
    booking_id = uuid.uuid4().hex
    uploaded = upload(client, booking_id, PNG, "badge.png", user_id=user["user_id"], event_id="3").get_json()
    assert client.get(f"/api/tickets/{booking_id}").status_code == 404

    record = {"eventName": "ObjectCreated:Put", "eventTime": "2026-11-25T14:30:00.000Z",
              "s3": {"bucket": {"name": bucket}, "object": {"key": quote_plus(uploaded["upload_key"], safe="/")}}}
    result = lambda_function.lambda_handler({"Records": [record]}, None)
    assert result["tickets"] == [f"tickets/{booking_id}.pdf"]

    response = client.get(f"/api/tickets/{booking_id}")
    assert response.status_code == 200
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert f"Booking ID: {booking_id}" in text
    assert "Name: Katherine Johnson" in text
    assert uploaded["upload_key"] in text.replace("\n", "")  # long keys wrap
