"""Endpoint tests. The same cases run on SQLite (no servers) and on real Postgres (integration)."""
import pytest
from event_catalog.models import SEED_EVENTS, events
from sqlalchemy import func, select

EVENT_KEYS = {"id", "name", "date", "venue", "capacity", "tickets_available"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def app(request):
    return request.getfixturevalue("sqlite_app" if request.param == "sqlite" else "pg_app")


@pytest.fixture()
def client(app):
    return app.test_client()


def _count(app):
    with app.extensions["event_catalog.engine"].connect() as c:
        return c.execute(select(func.count()).select_from(events)).scalar_one()


def test_health_ready_metrics(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    r = client.get("/ready")
    assert r.status_code == 200 and r.get_json()["status"] == "ready"
    client.get("/events")
    m = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/events",service="event-catalog",status="200"}' in m
    assert "http_request_duration_seconds_bucket" in m


def test_list_events_seeded(client):
    r = client.get("/events")
    assert r.status_code == 200
    body = r.get_json()
    names = {e["name"] for e in body}
    assert {e["name"] for e in SEED_EVENTS} <= names
    for e in body:
        assert set(e) == EVENT_KEYS
        assert isinstance(e["id"], int) and 0 <= e["tickets_available"] <= e["capacity"]


def test_create_and_get_event(client, unique_name):
    r = client.post("/events", json={"name": unique_name, "date": "2027-03-01", "venue": "Hall", "capacity": 100})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["tickets_available"] == 100 and created["capacity"] == 100
    assert r.headers["Location"] == f"/events/{created['id']}"
    got = client.get(f"/events/{created['id']}")
    assert got.status_code == 200 and got.get_json() == created
    assert any(e["id"] == created["id"] for e in client.get("/events").get_json())


def test_get_unknown_event_404(client):
    r = client.get("/events/999999999")
    assert r.status_code == 404
    assert r.get_json()["field"] == "event_id"


@pytest.mark.parametrize("raw", ["abc", "-1", "0"])
def test_get_bad_id_400(client, raw):
    r = client.get(f"/events/{raw}")
    assert r.status_code == 400 and r.get_json()["field"] == "event_id"


@pytest.mark.parametrize(
    "kwargs,status,field",
    [
        ({"data": "not json", "content_type": "application/json"}, 400, "body"),
        ({"data": "name=x", "content_type": "application/x-www-form-urlencoded"}, 400, "body"),
        ({"json": {"date": "2027-01-01", "venue": "V", "capacity": 1}}, 400, "name"),
        ({"json": {"name": "n", "date": "x", "venue": "V", "capacity": 1}}, 400, "date"),
        ({"json": {"name": "n", "date": "2027-01-01", "venue": "V", "capacity": -1}}, 400, "capacity"),
        ({"json": {"name": "n", "date": "2027-01-01", "venue": "V", "capacity": 10**12}}, 400, "capacity"),
        ({"json": {"name": "n" * 10000, "date": "2027-01-01", "venue": "V", "capacity": 1}}, 413, "body"),
    ],
)
def test_create_event_bad_input_writes_nothing(app, client, kwargs, status, field):
    before = _count(app)
    r = client.post("/events", **kwargs)
    assert r.status_code == status
    assert r.is_json and r.get_json()["field"] == field and r.get_json()["error"]
    assert _count(app) == before


def test_request_id_echoed_and_generated(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/health").headers["X-Request-ID"]) == 32


def test_unknown_route_json_404(client):
    r = client.get("/nope")
    assert r.status_code == 404 and r.is_json


def test_migrate_is_repeatable(app):
    from event_catalog.models import MIGRATIONS

    from svc_common.migrations import apply

    before = _count(app)
    assert apply(app.extensions["event_catalog.engine"], "event-catalog", MIGRATIONS) == []
    assert _count(app) == before


def test_database_down_gives_503_json():
    from event_catalog.app import create_app

    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none"})
    try:
        c = app.test_client()
        r = c.get("/events")
        assert r.status_code == 503 and r.get_json()["retryable"] is True
        assert c.get("/ready").status_code == 503
    finally:
        app.extensions["event_catalog.engine"].dispose()
