"""The page, static assets, /health, /ready and /metrics."""
from __future__ import annotations

import time


def test_index_page(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for element in ('id="events"', 'id="book-form"', 'id="booking-status"', 'id="upload-form"',
                    'id="ticket-form"', 'id="analytics"', 'id="user-form"', "/static/app.js"):
        assert element in html
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_static_assets(client):
    with client.get("/static/app.js") as script:
        assert "Idempotency-Key" in script.get_data(as_text=True)
    with client.get("/static/app.css") as css:
        assert css.status_code == 200


def test_health(client):
    assert client.get("/health").get_json() == {"status": "ok"}


def ready_body(client, settled=lambda body: True) -> dict:
    """/ready's body, once ``settled`` (dependency checks run in the background; the first ask
    waits for them only briefly)."""
    deadline = time.monotonic() + 10
    while True:
        response = client.get("/ready")
        assert response.status_code == 200, response.get_json()  # the replica's own: always ready
        body = response.get_json()
        if "unknown: not checked yet" not in body["dependencies"].values() and settled(body) \
                or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_ready_is_200_naming_what_is_missing(client):
    """Unconfigured upstreams are reported, not decisive: the page and the other routes serve."""
    body = ready_body(client)
    assert body["status"] == "ready" and body["own"] == {"app": "ok"}
    deps = body["dependencies"]
    assert deps["user-service"] == "ok" and deps["s3"] == "ok"
    assert deps["booking-service"] == "unavailable: booking-service is not configured"
    assert "analytics" in body
    assert client.get("/").status_code == 200
    response = client.post("/api/book", json={"event_id": 1, "user_id": "u", "ticket_count": 1})
    assert response.status_code == 503
    assert response.get_json() == {"error": "booking-service is not configured", "field": None,
                                   "retryable": False, "upstream": "booking-service"}


def test_ready_is_200_when_the_bucket_is_missing_and_says_so(make_frontend, user_service_url):
    urls = {"EVENT_SERVICE_URL": user_service_url, "BOOKING_SERVICE_URL": user_service_url}
    body = ready_body(make_frontend(RAW_DATA_BUCKET="no-such-bucket-x1", **urls).test_client())
    assert body["dependencies"]["s3"].startswith("unavailable: ")


def test_ready_is_200_with_every_dependency_reported_ok(make_frontend, user_service_url):
    # any service answering /health stands in for the event and booking services here
    urls = {"EVENT_SERVICE_URL": user_service_url, "BOOKING_SERVICE_URL": user_service_url}
    body = ready_body(make_frontend(**urls).test_client())
    assert body["status"] == "ready"
    assert body["dependencies"] == {"event-catalog": "ok", "booking-service": "ok", "user-service": "ok", "s3": "ok"}


def test_ready_stays_200_and_fast_while_upstreams_are_down(make_frontend, dead_url):
    client = make_frontend(EVENT_SERVICE_URL=dead_url, BOOKING_SERVICE_URL=dead_url, USER_SERVICE_URL=dead_url).test_client()
    body = ready_body(client, settled=lambda b: b["dependencies"]["event-catalog"] != "ok")
    assert body["dependencies"]["event-catalog"] == "unavailable: event-catalog is unavailable"
    started = time.monotonic()
    for _ in range(20):  # the gateway asks every second: answered from the cached states
        assert client.get("/ready").status_code == 200
    assert time.monotonic() - started < 1.0
    assert client.get("/").status_code == 200
    response = client.get("/api/events")
    assert response.status_code == 503
    assert response.get_json() == {"error": "event-catalog is unavailable", "field": None, "retryable": True,
                                   "upstream": "event-catalog"}


def test_metrics_count_routes_and_statuses(make_frontend, dead_url):
    # the process's metrics are shared by every app of this test session: count the difference
    series = 'http_requests_total{method="POST",route="/api/book",service="frontend",status="503"}'

    def count(text: str) -> float:
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series + " "))

    client = make_frontend(BOOKING_SERVICE_URL=dead_url).test_client()
    before = count(client.get("/metrics").get_data(as_text=True))
    client.post("/api/book", json={"event_id": 1}, headers={"Idempotency-Key": "k"})
    text = client.get("/metrics").get_data(as_text=True)
    assert count(text) == before + 1
    assert 'http_request_duration_seconds_bucket{le="0.05",method="POST",route="/api/book",service="frontend"}' in text
    assert "frontend_uploads_total" in text
