"""The gateway passes the events page's query on and relays its Link header; bookings without an
Idempotency-Key are forwarded without one and the upstream's notice is relayed (stand-in upstreams
over real HTTP, no sandbox)."""
from __future__ import annotations

import pytest
from flask import Flask, jsonify, request


@pytest.fixture(scope="module")
def recording_upstream(serve):
    """Answers like event-catalog and booking-service would, recording what reached it."""
    app = Flask("recording")
    seen: dict = {}

    @app.get("/events")
    def events():
        seen["query"] = request.args.to_dict()
        response = jsonify([{"id": 1, "name": "a"}])
        response.headers["Link"] = '<?name=a&cursor=abc>; rel="next", <?name=a>; rel="prev"'
        return response

    @app.post("/book")
    def book():
        seen["key"] = request.headers.get("Idempotency-Key")
        response = jsonify({"booking_id": "b-1", "status": "pending", "status_url": "/bookings/b-1"})
        response.status_code = 202
        if seen["key"] is None:
            response.headers["Idempotency-Key-Missing"] = "true"
        return response

    return serve(app), seen


def test_events_query_is_passed_on_and_the_link_header_relayed(make_frontend, recording_upstream):
    url, seen = recording_upstream
    client = make_frontend(EVENT_SERVICE_URL=url).test_client()
    response = client.get("/api/events?name=rock+n%27roll&cursor=abc&limit=5&other=x")
    assert response.status_code == 200 and response.get_json() == [{"id": 1, "name": "a"}]
    assert seen["query"] == {"name": "rock n'roll", "cursor": "abc", "limit": "5"}  # only the documented ones
    assert response.headers["Link"] == '<?name=a&cursor=abc>; rel="next", <?name=a>; rel="prev"'
    client.get("/api/events")
    assert seen["query"] == {}


def test_a_booking_without_key_is_forwarded_without_one_and_the_notice_relayed(make_frontend, recording_upstream):
    url, seen = recording_upstream
    client = make_frontend(BOOKING_SERVICE_URL=url).test_client()
    body = {"user_id": "u", "event_id": 1, "ticket_count": 1}
    response = client.post("/api/book", json=body)
    assert response.status_code == 202 and seen["key"] is None
    assert response.headers["Idempotency-Key-Missing"] == "true"
    assert response.get_json()["status_url"] == "/api/bookings/b-1"
    keyed = client.post("/api/book", json=body, headers={"Idempotency-Key": "k-1"})
    assert keyed.status_code == 202 and seen["key"] == "k-1" and "Idempotency-Key-Missing" not in keyed.headers


def test_a_blank_key_is_refused_by_the_gateway(make_frontend, recording_upstream):
    url, seen = recording_upstream
    seen.pop("key", None)
    client = make_frontend(BOOKING_SERVICE_URL=url).test_client()
    response = client.post("/api/book", json={"user_id": "u", "event_id": 1, "ticket_count": 1},
                           headers={"Idempotency-Key": " "})
    assert response.status_code == 400 and response.get_json()["field"] == "Idempotency-Key"
    assert "key" not in seen  # not forwarded


def test_the_page_shows_the_filter_and_the_api_docs_link(client):
    html = client.get("/?name=<b>x</b>").get_data(as_text=True)
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in html  # escaped
    assert html.index('id="book-form"') < html.index('id="events"')  # the booking form comes first
    assert 'id="events-next"' in html and 'id="events-prev"' in html and 'href="/docs"' in html
    assert client.get("/openapi.json").get_json()["paths"]["/api/events"]["get"]["parameters"]
    assert client.get("/docs").status_code == 200
