"""The page, static assets, /health, /ready and /metrics."""
from __future__ import annotations


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


def test_ready_is_503_naming_what_is_missing(client):
    response = client.get("/ready")
    assert response.status_code == 503
    checks = response.get_json()["checks"]
    assert checks["user-service"] == "ok" and checks["s3"] == "ok"
    assert checks["booking-service"] == "booking-service is not configured"


def test_ready_is_503_when_the_bucket_is_missing(make_frontend, user_service_url):
    urls = {"EVENT_SERVICE_URL": user_service_url, "BOOKING_SERVICE_URL": user_service_url}
    response = make_frontend(RAW_DATA_BUCKET="no-such-bucket-x1", **urls).test_client().get("/ready")
    assert response.status_code == 503 and response.get_json()["checks"]["s3"] != "ok"


def test_ready_is_200_when_every_dependency_answers(make_frontend, user_service_url):
    # any service answering /health stands in for the event and booking services here
    urls = {"EVENT_SERVICE_URL": user_service_url, "BOOKING_SERVICE_URL": user_service_url}
    response = make_frontend(**urls).test_client().get("/ready")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "ready"


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
