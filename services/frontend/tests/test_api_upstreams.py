"""Gateway behaviour when upstreams are missing, down, failing or slow (real HTTP servers)."""
from __future__ import annotations

import time

import pytest
from flask import Flask, jsonify, request

ROUTES = [
    ("GET", "/api/events", None),
    ("GET", "/api/events/1", None),
    ("POST", "/api/book", {"event_id": 1, "user_id": "u", "ticket_count": 1}),
    ("GET", "/api/bookings/abc", None),
    ("POST", "/api/users", {"name": "Ada", "email": "ada@example.com"}),
    ("GET", "/api/users/abc", None),
]


def assert_error_shape(body: dict, retryable: bool) -> None:
    """svc_common's one error shape, with the gateway's context (``upstream``) beside it."""
    assert isinstance(body["error"], str) and body["field"] is None and body["retryable"] is retryable
    assert set(body) - {"error", "field", "retryable"} <= {"upstream", "upstream_status"}


def all_upstreams(url: str) -> dict:
    return {"EVENT_SERVICE_URL": url, "BOOKING_SERVICE_URL": url, "USER_SERVICE_URL": url}


@pytest.fixture(scope="module")
def misbehaving(serve):
    """A real HTTP upstream that fails (500) on /fail paths and is slow on the rest."""
    app = Flask("misbehaving")
    seen = {}

    @app.route("/<path:path>", methods=["GET", "POST"])
    def anything(path):
        seen["headers"] = dict(request.headers)
        seen["body"] = request.get_data()
        if request.args.get("slow") or path.startswith("bookings/slow"):
            time.sleep(1.5)
        return jsonify({"error": "boom"}), 500
    return serve(app), seen


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_upstream_down_is_503_json(make_frontend, dead_url, method, path, body):
    client = make_frontend(**all_upstreams(dead_url)).test_client()
    response = client.open(path, method=method, json=body, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 503
    assert response.is_json and "unavailable" in response.get_json()["error"]
    assert_error_shape(response.get_json(), retryable=True)


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_upstream_not_configured_is_503_json(make_frontend, method, path, body):
    client = make_frontend(**all_upstreams("")).test_client()
    response = client.open(path, method=method, json=body, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 503
    assert "not configured" in response.get_json()["error"]
    assert_error_shape(response.get_json(), retryable=False)  # a retry would meet the same configuration


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_upstream_5xx_is_502_json(make_frontend, misbehaving, method, path, body):
    url, _ = misbehaving
    client = make_frontend(**all_upstreams(url)).test_client()
    response = client.open(path, method=method, json=body, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 502
    assert response.get_json()["upstream_status"] == 500
    assert_error_shape(response.get_json(), retryable=True)


def test_upstream_timeout_is_504_json(make_frontend, misbehaving):
    url, _ = misbehaving
    client = make_frontend(BOOKING_SERVICE_URL=url, UPSTREAM_READ_TIMEOUT=0.3).test_client()
    started = time.monotonic()
    response = client.get("/api/bookings/slow")
    assert response.status_code == 504
    assert time.monotonic() - started < 1.4
    assert response.get_json()["upstream"] == "booking-service"
    assert_error_shape(response.get_json(), retryable=True)


def test_book_forwards_idempotency_key_request_id_and_body(make_frontend, misbehaving):
    url, seen = misbehaving
    client = make_frontend(BOOKING_SERVICE_URL=url).test_client()
    client.post("/api/book", data=b'{"event_id": 1, "user_id": "u", "ticket_count": 2}',
                content_type="application/json", headers={"Idempotency-Key": "key-123", "X-Request-ID": "rid-9"})
    assert seen["headers"]["Idempotency-Key"] == "key-123"
    assert seen["headers"]["X-Request-Id"] == "rid-9"
    assert seen["body"] == b'{"event_id": 1, "user_id": "u", "ticket_count": 2}'


def test_book_oversize_body_is_413_and_not_forwarded(make_frontend, dead_url):
    client = make_frontend(BOOKING_SERVICE_URL=dead_url).test_client()
    response = client.post("/api/book", data="x" * 70000, content_type="application/json")
    assert response.status_code == 413 and response.get_json()["field"] == "body"


@pytest.mark.parametrize("path, field", [
    ("/api/events/abc", "event_id"), ("/api/events/0", "event_id"), ("/api/events/-1", "event_id"),
    ("/api/bookings/" + "x" * 65, "booking_id"), ("/api/bookings/a.b", "booking_id"),
])
def test_malformed_ids_are_404_without_calling_upstream(make_frontend, dead_url, path, field):
    client = make_frontend(**all_upstreams(dead_url)).test_client()
    response = client.get(path)
    assert response.status_code == 404 and response.get_json()["field"] == field


def test_unknown_route_and_method_are_json(client):
    assert client.get("/api/nope").status_code == 404 and client.get("/api/nope").is_json
    response = client.get("/api/book")
    assert response.status_code == 405 and response.is_json
