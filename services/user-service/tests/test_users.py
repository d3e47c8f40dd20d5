"""user-service against a real DynamoDB endpoint (moto server or the sandbox's)."""
from __future__ import annotations

import json
import time
import uuid

import pytest


def unique_email() -> str:
    return f"ada-{uuid.uuid4().hex[:10]}@Example.COM"


def test_create_then_get_user(client):
    email = unique_email()
    response = client.post("/users", json={"name": "  Ada Lovelace ", "email": email})
    assert response.status_code == 201
    body = response.get_json()
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == email.rsplit("@", 1)[0] + "@example.com"
    assert str(uuid.UUID(body["user_id"])) == body["user_id"]
    assert body["userId"] == body["user_id"]  # the seed's clients read userId
    assert body["created_at"].endswith("Z")
    assert response.headers["Location"] == f"/users/{body['user_id']}"

    fetched = client.get(f"/users/{body['user_id']}")
    assert fetched.status_code == 200
    assert fetched.get_json() == body


def test_user_is_stored_in_dynamodb(client, dynamodb, users_table):
    body = client.post("/users", json={"name": "Grace", "email": unique_email()}).get_json()
    item = dynamodb.get_item(TableName=users_table, Key={"user_id": {"S": body["user_id"]}})["Item"]
    assert item["name"]["S"] == "Grace"
    assert item["email"]["S"] == body["email"]


def test_duplicate_email_is_409_and_writes_nothing(client, count_items):
    email = unique_email()
    assert client.post("/users", json={"name": "First", "email": email}).status_code == 201
    before = count_items()
    response = client.post("/users", json={"name": "Second", "email": email.upper()})
    assert response.status_code == 409
    assert response.get_json()["field"] == "email"
    assert count_items() == before


@pytest.mark.parametrize("unknown", [str(uuid.uuid4()), "not-a-uuid", "email%23someone@example.com"])
def test_unknown_user_is_404_json(client, unknown):
    response = client.get(f"/users/{unknown}")
    assert response.status_code == 404
    assert response.get_json() == {"error": "user not found", "field": "user_id", "retryable": False}


@pytest.mark.parametrize("payload, field", [
    ({"email": "a@example.com"}, "name"),
    ({"name": "", "email": "a@example.com"}, "name"),
    ({"name": "   ", "email": "a@example.com"}, "name"),
    ({"name": 42, "email": "a@example.com"}, "name"),
    ({"name": "x" * 101, "email": "a@example.com"}, "name"),
    ({"name": "bad\nname", "email": "a@example.com"}, "name"),
    ({"name": "Ada"}, "email"),
    ({"name": "Ada", "email": "not-an-email"}, "email"),
    ({"name": "Ada", "email": "a@b"}, "email"),
    ({"name": "Ada", "email": ["a@example.com"]}, "email"),
    ({"name": "Ada", "email": "a b@example.com"}, "email"),
    # what DynamoDB cannot store (a lone surrogate has no UTF-8 form) or Postgres-style NUL
    ({"name": "Ada\x00", "email": "a@example.com"}, "name"),
    ({"name": "Ada\ud800", "email": "a@example.com"}, "name"),
    ({"name": "Ada", "email": "\udfffa@example.com"}, "email"),
    ({"name": "Ada", "email": "a\x00@example.com"}, "email"),
    ({"name": "Ada", "email": "a" * 250 + "@example.com"}, "email"),
])
def test_invalid_fields_are_400_naming_the_field_and_write_nothing(client, count_items, payload, field):
    before = count_items()
    # json.dumps escapes a lone surrogate as "\\ud800": what a client's JSON carries
    response = client.post("/users", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["field"] == field
    assert count_items() == before


@pytest.mark.parametrize("data, content_type, status", [
    ("{not json", "application/json", 400),
    ("[1, 2]", "application/json", 400),
    ('"just a string"', "application/json", 400),
    ("name=Ada&email=a@example.com", "application/x-www-form-urlencoded", 415),
    ("", "application/json", 400),
])
def test_non_json_bodies_are_4xx_naming_body(client, count_items, data, content_type, status):
    before = count_items()
    response = client.post("/users", data=data, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["field"] == "body"
    assert count_items() == before


def test_oversize_body_is_413_json(client, count_items):
    before = count_items()
    payload = json.dumps({"name": "A" * 20000, "email": unique_email()})
    response = client.post("/users", data=payload, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["field"] == "body"
    assert count_items() == before


def test_wrong_method_is_405_json(client):
    response = client.delete("/users")
    assert response.status_code == 405
    assert response.is_json


def test_health_ready_metrics(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200, ready.get_json()
    client.get(f"/users/{uuid.uuid4()}")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/users/<user_id>",service="user-service",status="404"}' in metrics
    assert "http_request_duration_seconds_bucket" in metrics


def test_ready_stays_200_and_reports_a_missing_table(users_table):
    """The replica itself can serve: it stays ready; what needs the table answers 503, retryable."""
    from user_service.app import create_app
    client = create_app({"USERS_TABLE": "no-such-table-" + uuid.uuid4().hex[:6]}).test_client()
    response = client.get("/ready")
    deadline = time.monotonic() + 10
    while response.get_json()["dependencies"]["dynamodb"] == "unknown: not checked yet" and time.monotonic() < deadline:
        time.sleep(0.1)
        response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready" and response.get_json()["own"] == {"app": "ok"}
    assert response.get_json()["dependencies"]["dynamodb"].startswith("unavailable: ")
    response = client.get(f"/users/{uuid.uuid4()}")
    assert response.status_code == 503
    assert response.get_json() == {"error": "DynamoDB unavailable, retry", "field": None, "retryable": True}


def test_dynamodb_unreachable_is_503_retryable():
    import boto3
    from botocore.config import Config
    from user_service.app import create_app
    from user_service.models import UserStore

    unreachable = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:1", region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test",
                               config=Config(connect_timeout=0.5, retries={"max_attempts": 1}))
    client = create_app({"USER_STORE": UserStore("users", client=unreachable)}).test_client()
    response = client.post("/users", json={"name": "Ada", "email": f"ada-{uuid.uuid4().hex[:6]}@example.com"})
    assert response.status_code == 503
    assert response.get_json() == {"error": "DynamoDB unavailable, retry", "field": None, "retryable": True}
    assert client.get("/ready").status_code == 200


def test_request_id_is_echoed_or_generated(client):
    response = client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers["X-Request-ID"]
    assert generated != "bad id with spaces" and len(generated) == 32


def test_logs_are_json_with_request_id(client, caplog):
    from svc_common.logs import JsonFormatter
    with caplog.at_level("INFO", logger="user-service.access"):
        client.get(f"/users/{uuid.uuid4()}", headers={"X-Request-ID": "trace-42"})
    records = [json.loads(JsonFormatter("user-service").format(r)) for r in caplog.records]
    access = [r for r in records if r.get("route") == "/users/<user_id>"]
    assert access and access[-1]["request_id"] == "trace-42" and access[-1]["status"] == 404
    assert access[-1]["service"] == "user-service"
