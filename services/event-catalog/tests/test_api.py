"""Endpoint tests. The same cases run on SQLite (no servers) and on real Postgres (integration)."""
from urllib.parse import parse_qsl

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


@pytest.fixture()
def create(client):
    """POST /events, and DELETE each created event afterwards (on Postgres that is the sandbox's
    database under `make test`: it is left as it was)."""
    made = []

    def _create(name: str, date: str = "2027-03-01", capacity: int = 100) -> dict:
        r = client.post("/events", json={"name": name, "date": date, "venue": "Hall", "capacity": capacity})
        assert r.status_code == 201, r.get_json()
        made.append(r.get_json()["id"])
        return r.get_json()

    yield _create
    for event_id in made:
        assert client.delete(f"/events/{event_id}").status_code in (204, 404)


def _count(app):
    with app.extensions["event_catalog.engine"].connect() as c:
        return c.execute(select(func.count()).select_from(events)).scalar_one()


def test_health_ready_metrics(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    r = client.get("/ready")
    assert r.status_code == 200 and r.get_json()["status"] == "ready"
    assert r.get_json()["own"] == {"app": "ok"} and r.get_json()["dependencies"] == {"database": "ok"}
    client.get("/events")
    m = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="GET",route="/events",service="event-catalog",status="200"}' in m
    assert "http_request_duration_seconds_bucket" in m


def test_list_events_seeded(client):
    r = client.get("/events", query_string={"limit": "200"})
    assert r.status_code == 200
    body = r.get_json()
    for seed in SEED_EVENTS:  # each found by the name filter, wherever it sorts among other events
        assert seed["name"] in {e["name"] for e in client.get("/events", query_string={"name": seed["name"]}).get_json()}
    for e in body:
        assert set(e) == EVENT_KEYS
        assert isinstance(e["id"], int) and 0 <= e["tickets_available"] <= e["capacity"]


def test_create_get_and_delete_event(client, unique_name):
    r = client.post("/events", json={"name": unique_name, "date": "2027-03-01", "venue": "Hall", "capacity": 100})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    try:
        assert created["tickets_available"] == 100 and created["capacity"] == 100
        assert r.headers["Location"] == f"/events/{created['id']}"
        got = client.get(f"/events/{created['id']}")
        assert got.status_code == 200 and got.get_json() == created
        assert client.get("/events", query_string={"name": unique_name}).get_json() == [created]
    finally:
        deleted = client.delete(f"/events/{created['id']}")
    assert deleted.status_code == 204 and not deleted.get_data()
    assert client.get(f"/events/{created['id']}").status_code == 404
    again = client.delete(f"/events/{created['id']}")
    assert again.status_code == 404 and again.get_json()["field"] == "event_id"
    assert client.get("/events", query_string={"name": unique_name}).get_json() == []


def test_delete_refuses_a_booked_event(app, client, create, unique_name):
    from sqlalchemy import update

    event = create(unique_name, capacity=10)
    with app.extensions["event_catalog.engine"].begin() as c:  # as the booking consumer does
        c.execute(update(events).where(events.c.id == event["id"]).values(tickets_available=8))
    r = client.delete(f"/events/{event['id']}")
    assert r.status_code == 409 and r.get_json()["field"] == "event_id"
    assert client.get(f"/events/{event['id']}").status_code == 200
    with app.extensions["event_catalog.engine"].begin() as c:
        c.execute(update(events).where(events.c.id == event["id"]).values(tickets_available=10))


def test_list_pages_with_a_cursor_and_filters_by_name(client, create, unique_name):
    made = [create(f"{unique_name}-{i}", date=f"2027-03-{1 + i % 3:02d}") for i in range(7)]
    expected = sorted(made, key=lambda e: (e["date"], e["id"]))
    seen, query, pages = [], {"name": unique_name.upper(), "limit": "3"}, 0  # the filter ignores case
    prev_links = []
    while True:
        r = client.get("/events", query_string=query)
        assert r.status_code == 200 and isinstance(r.get_json(), list)
        assert len(r.get_json()) <= 3
        seen += r.get_json()
        pages += 1
        links = _links(r.headers.get("Link", ""))
        prev_links.append(links.get("prev"))
        if "next" not in links:
            break
        assert links["next"].startswith("?")  # relative to the URL asked: right behind the gateway too
        query = dict(parse_qsl(links["next"][1:]))
        assert query["name"] == unique_name.upper() and query["limit"] == "3"
    assert seen == expected and pages == 3
    assert prev_links[0] is None and "cursor" not in prev_links[1] and "cursor=" in prev_links[2]
    back = client.get("/events", query_string=dict(parse_qsl(prev_links[2][1:])))
    assert back.get_json() == expected[3:6]


def test_default_page_is_bounded(client, create, unique_name):
    r = client.get("/events")
    assert r.status_code == 200 and len(r.get_json()) <= 50
    one = client.get("/events", query_string={"limit": "1"})
    assert len(one.get_json()) == 1 and 'rel="next"' in one.headers["Link"]


@pytest.mark.parametrize("query,field", [
    ({"limit": "0"}, "limit"), ({"limit": "201"}, "limit"), ({"limit": "x"}, "limit"), ({"limit": "-1"}, "limit"),
    ({"limit": "\u0661"}, "limit"), ({"cursor": "nope"}, "cursor"), ({"cursor": "W10"}, "cursor"),
    ({"cursor": "x" * 300}, "cursor"), ({"name": "a\x00b"}, "name"), ({"name": "n" * 201}, "name"),
])
def test_list_bad_query_400(client, query, field):
    r = client.get("/events", query_string=query)
    assert r.status_code == 400 and r.get_json()["field"] == field, r.get_json()


def _links(header: str) -> dict[str, str]:
    out = {}
    for part in filter(None, (p.strip() for p in header.split(","))):
        target, _, rel = part.partition(";")
        out[rel.strip().removeprefix('rel="').removesuffix('"')] = target.strip()[1:-1]
    return out


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
        # what Postgres cannot store: NUL, a lone surrogate, longer than the column, not text
        ({"json": {"name": "n\x00", "date": "2027-01-01", "venue": "V", "capacity": 1}}, 400, "name"),
        ({"data": '{"name": "x", "date": "2027-01-01", "venue": "\\udc00", "capacity": 1}',
          "content_type": "application/json"}, 400, "venue"),
        ({"json": {"name": "n" * 201, "date": "2027-01-01", "venue": "V", "capacity": 1}}, 400, "name"),
        ({"json": {"name": "n", "date": "2027-01-01\x00", "venue": "V", "capacity": 1}}, 400, "date"),
        ({"json": {"name": "n", "date": "2027-01-01T00:00:00.123456+05:30:15.123456", "venue": "V", "capacity": 1}},
         400, "date"),
        ({"json": {"name": ["n"], "date": "2027-01-01", "venue": "V", "capacity": 1}}, 400, "name"),
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


def assert_retryable_503(r) -> None:
    assert r.status_code == 503
    assert r.get_json() == {"error": "database unavailable, retry", "field": None, "retryable": True}


def test_database_down_gives_503_json_and_stays_ready():
    from event_catalog.app import create_app

    app = create_app({"DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none"})
    try:
        c = app.test_client()
        assert_retryable_503(c.get("/events"))  # nothing kept yet to answer from
        assert_retryable_503(c.get("/events/1"))
        r = c.get("/ready")  # the replica itself can serve: it stays in the balancer
        assert r.status_code == 200 and r.get_json()["status"] == "ready"
        assert r.get_json()["dependencies"]["database"].startswith("unavailable: ")
    finally:
        app.extensions["event_catalog.engine"].dispose()


def _sqlite_app(tmp_path):
    """The app on a migrated SQLite file, which a test may delete to take "the database" down."""
    from event_catalog.app import create_app
    from event_catalog.db import make_engine
    from event_catalog.models import MIGRATIONS

    from svc_common.migrations import apply

    db = tmp_path / "events.db"
    engine = make_engine(f"sqlite:///{db}")
    apply(engine, "event-catalog", MIGRATIONS)
    engine.dispose()
    return db, create_app({"DATABASE_URL": f"sqlite:///{db}", "TESTING": True})


def test_database_down_answers_the_last_good_page_of_the_same_query(tmp_path):
    """Stale-if-error: the page kept from before the outage, marked by Age and Cache-Status; a
    query never answered before is 503; a copy older than EVENTS_STALE_IF_ERROR_S is not used."""
    db, app = _sqlite_app(tmp_path)
    try:
        c = app.test_client()
        fresh = c.get("/events", query_string={"limit": "2"})
        assert fresh.status_code == 200 and "Cache-Status" not in fresh.headers
        db.unlink()  # the database is gone: SQLite's "no such table" is an OperationalError
        app.extensions["event_catalog.engine"].dispose()
        stale = c.get("/events", query_string={"limit": "2"})
        assert stale.status_code == 200 and stale.get_json() == fresh.get_json()
        assert stale.headers["Link"] == fresh.headers["Link"]
        assert int(stale.headers["Age"]) >= 0 and "stale" in stale.headers["Cache-Status"]
        assert_retryable_503(c.get("/events", query_string={"limit": "3"}))
        app.extensions["event_catalog.last_good"].max_age_s = 0
        assert_retryable_503(c.get("/events", query_string={"limit": "2"}))
    finally:
        app.extensions["event_catalog.engine"].dispose()


def test_a_replica_asked_only_for_readiness_still_answers_the_plain_list_while_the_database_is_down(tmp_path):
    """The readiness check keeps a copy of the first page, so a replica the balancer never sent a
    list to answers it from that copy during an outage (seen in cluster mode: a random balancer)."""
    import time

    db, app = _sqlite_app(tmp_path)
    try:
        c = app.test_client()
        assert c.get("/ready").get_json()["dependencies"]["database"] == "ok"
        deadline = time.monotonic() + 5
        while app.extensions["event_catalog.last_good"].age((50, None, None)) is None:
            assert time.monotonic() < deadline, "the readiness check kept no first page"
            time.sleep(0.05)
        db.unlink()
        app.extensions["event_catalog.engine"].dispose()
        stale = c.get("/events")
        assert stale.status_code == 200 and "stale" in stale.headers["Cache-Status"]
        assert_retryable_503(c.get("/events", query_string={"limit": "3"}))
    finally:
        app.extensions["event_catalog.engine"].dispose()
