import json
import logging
import os
import subprocess
import sys

import pytest
from flask import Flask, g, request
from sqlalchemy import create_engine, text

from svc_common import migrations, service_layout
from svc_common.db import database_url_from_env
from svc_common.errors import ApiError
from svc_common.http import init_app
from svc_common.logs import configure_logging
from svc_common.migrations import apply
from svc_common.request_id import clean_request_id, get_request_id, reset_request_id, set_request_id


@pytest.mark.parametrize("env,url", [
    ({}, None),
    ({"DATABASE_URL": "postgresql://u:p@h:1/d"}, "postgresql+psycopg://u:p@h:1/d"),
    ({"DATABASE_URL": "postgres://u:p@h:1/d"}, "postgresql+psycopg://u:p@h:1/d"),
    ({"DATABASE_URL": "sqlite:///x.db"}, "sqlite:///x.db"),
    ({"DB_HOST": "h", "DB_PORT": "5", "DB_NAME": "d", "DB_USER": "u", "DB_PASSWORD": "p@ss"},
     "postgresql+psycopg://u:p%40ss@h:5/d"),
])
def test_database_url_from_env(env, url):
    assert database_url_from_env(env) == url


def test_clean_request_id():
    assert clean_request_id("abc-1.2:3") == "abc-1.2:3"
    for bad in (None, "", "has space", "x" * 200, "new\nline", "trailing\n"):
        assert len(clean_request_id(bad)) == 32


def _app(service: str) -> Flask:
    app = Flask(__name__)
    init_app(app, service)
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.post("/thing")
    def thing():
        request.get_data()  # reading the body enforces MAX_CONTENT_LENGTH
        g.log_extra = {"thing_id": 7}
        raise ApiError("bad thing", "thing", 422, retryable=True)

    @app.get("/boom")
    def boom():
        raise RuntimeError("x")

    @app.get("/health")
    def health():
        logging.getLogger("svc-test.view").info("in view", extra={"step": 1})
        return {"status": "ok"}

    return app


def _json_lines(capfd) -> list[dict]:
    return [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]


def test_flask_wiring_request_id_errors_metrics(capfd):
    configure_logging("svc-test")
    c = _app("svc-test").test_client()
    _app("svc-test")  # a second app in the same process: no duplicate metric registration
    r = c.post("/thing", headers={"X-Request-ID": "rid-42"})
    assert r.status_code == 422
    assert r.get_json() == {"error": "bad thing", "field": "thing", "retryable": True}
    assert r.headers["X-Request-ID"] == "rid-42"
    r = c.post("/thing", data="x" * 100)
    assert r.status_code == 413
    assert r.get_json() == {"error": "request body too large", "field": "body", "retryable": False}
    r = c.get("/boom")
    assert r.status_code == 500 and r.get_json() == {"error": "internal error", "field": None, "retryable": False}
    r = c.get("/missing", headers={"X-Request-ID": "bad id"})
    assert r.status_code == 404 and r.get_json()["field"] is None and len(r.headers["X-Request-ID"]) == 32
    assert r.get_json()["retryable"] is False
    r = c.delete("/thing")
    assert r.status_code == 405 and r.is_json and set(r.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    assert c.get("/health", headers={"X-Request-ID": "rid-health"}).status_code == 200
    m = c.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="POST",route="/thing",service="svc-test",status="422"}' in m
    assert 'http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health",service="svc-test"}' in m
    assert get_request_id() is None  # cleared after each request

    lines = _json_lines(capfd)
    access = [x for x in lines if x["message"] == "request"]
    assert {x["route"] for x in access} == {"/thing", "/boom", "<unmatched>"}  # no line for /health, /metrics
    first = access[0]
    assert first["logger"] == "svc-test.access" and first["service"] == "svc-test" and first["level"] == "INFO"
    assert first["request_id"] == "rid-42" and first["thing_id"] == 7 and first["status"] == 422
    assert first["method"] == "POST" and first["path"] == "/thing" and isinstance(first["duration_ms"], float)
    assert first["ts"].endswith("+00:00")
    view = next(x for x in lines if x["message"] == "in view")
    assert view["request_id"] == "rid-health" and view["step"] == 1
    unhandled = next(x for x in lines if x["message"] == "unhandled error")
    assert unhandled["level"] == "ERROR" and "RuntimeError: x" in unhandled["exception"]
    logging.getLogger().handlers.clear()


def test_log_lines_outside_requests_keep_extra_fields_and_context_request_id(capfd):
    configure_logging("svc-test")
    configure_logging("svc-test")  # idempotent: still one line per record
    log = logging.getLogger("svc-test.worker")
    log.info("consuming", extra={"topic": "t", "group": "g"})
    token = set_request_id("rid-msg")
    try:
        log.info("decided %s", "b1", extra={"booking_id": "b1"})
    finally:
        reset_request_id(token)
    lines = _json_lines(capfd)
    assert len(lines) == 2
    assert lines[0]["topic"] == "t" and lines[0]["group"] == "g" and "request_id" not in lines[0]
    assert lines[1] == {**lines[1], "message": "decided b1", "booking_id": "b1", "request_id": "rid-msg",
                        "service": "svc-test", "logger": "svc-test.worker"}
    logging.getLogger().handlers.clear()


def test_every_route_has_its_latency_series_before_its_first_request():
    """So that rate() sees a route's first requests (a series born with them has no earlier sample)."""
    m = _app("svc-zero").test_client().get("/metrics").get_data(as_text=True)
    assert 'http_request_duration_seconds_count{method="GET",route="/boom",service="svc-zero"} 0.0' in m
    assert 'http_request_duration_seconds_count{method="POST",route="/thing",service="svc-zero"} 0.0' in m


def test_metrics_payload_aggregates_worker_processes(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR the payload adds up every process's files (here: two workers)."""
    script = (
        "from svc_common.metrics import HTTP_REQUESTS, metrics_payload\n"
        "HTTP_REQUESTS.labels('svc-test', 'GET', '/x', '200').inc()\n"
        "print(metrics_payload().decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert 'http_requests_total{method="GET",route="/x",service="svc-test",status="200"} 2.0' in out


def test_migrations_apply_once(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    calls = []

    def step1(conn):
        calls.append(1)
        conn.execute(text("CREATE TABLE t (x INTEGER)"))

    def step2(conn):
        calls.append(2)
        conn.execute(text("INSERT INTO t VALUES (1)"))

    assert apply(engine, "c", [(2, step2), (1, step1)]) == [1, 2]
    assert apply(engine, "c", [(1, step1), (2, step2)]) == []
    assert apply(engine, "other", []) == []
    assert calls == [1, 2]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
    engine.dispose()


def test_migrate_main_applies_once_and_logs_json(tmp_path, capfd):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    steps = [(1, lambda conn: conn.execute(text("CREATE TABLE t (x INTEGER)")))]
    assert migrations.main("c", steps, url) == 0
    assert migrations.main("c", steps, url) == 0
    done = [x for x in _json_lines(capfd) if x["message"] == "migrate done"]
    assert [x["applied"] for x in done] == [[1], []] and done[0]["service"] == "c-migrate"
    with pytest.raises(SystemExit):
        migrations.main("c", steps, None)
    logging.getLogger().handlers.clear()


def test_service_layout_checks_catch_a_bad_folder(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY ../common/svc_common ./svc_common\nCMD flask run\n")
    (tmp_path / "requirements.txt").write_text("Flask>=3\n")
    for check in service_layout.checks(http_service=True):
        with pytest.raises(AssertionError):
            check(tmp_path)



# --- storable text (svc_common.text) -------------------------------------------------------------

@pytest.mark.parametrize("value,field_error", [
    (None, "is required"), ("", "non-empty"), ("   ", "non-empty"), (5, "must be a string"), (["x"], "must be a string"),
    ("a\x00b", "NUL"), ("lone\ud800", "surrogate"), ("\udfff", "surrogate"), ("x" * 11, "at most 10"),
])
def test_storable_text_refuses_what_a_database_cannot_store(value, field_error):
    from svc_common.text import storable_text

    with pytest.raises(ApiError) as exc:
        storable_text(value, "name", 10)
    assert exc.value.status == 400 and exc.value.field == "name" and field_error in exc.value.message


def test_storable_text_accepts_and_normalises():
    from svc_common.text import storable_text, unstorable_reason

    assert storable_text("  Ada \U0001f3b8 ", "name", 10) == "Ada \U0001f3b8"  # a paired (astral) character is fine
    assert storable_text(" keep ", "user_id", 10, strip=False) == " keep "
    assert storable_text(None, "name", 10, required=False) is None
    assert storable_text("  ", "name", 10, required=False) is None
    assert unstorable_reason("tab\tand newline\n are storable") is None


# --- the OpenAPI document and the docs page (svc_common.openapi, wired by init_app) ----------------

SPEC_YAML = """
openapi: 3.0.3
info: {title: svc-test, version: 1.0.0, description: "A <b>test</b> service"}
servers: [{url: "http://127.0.0.1:1"}]
paths:
  /things/{thing_id}:
    get:
      summary: One thing <script>alert(1)</script>
      parameters:
        - {name: thing_id, in: path, required: true, schema: {type: integer, minimum: 1}}
        - {$ref: "#/components/parameters/Limit"}
      responses:
        "200": {description: The thing}
        "404": {$ref: "#/components/responses/Missing"}
  /things:
    post:
      summary: Make a thing
      requestBody:
        content:
          application/json:
            schema: {$ref: "#/components/schemas/NewThing"}
      responses: {"201": {description: Made}}
components:
  parameters:
    Limit: {name: limit, in: query, schema: {type: integer, maximum: 200}}
  responses:
    Missing: {description: No such thing}
  schemas:
    NewThing:
      type: object
      required: [name]
      properties: {name: {type: string, maxLength: 20}, tags: {type: array, items: {type: string}}}
"""


def test_openapi_json_and_docs_are_served_from_the_service_folder(tmp_path):
    from svc_common import openapi

    package = tmp_path / "svc_test"
    package.mkdir()
    (tmp_path / "openapi.yaml").write_text(SPEC_YAML)
    app = Flask("svc_test", root_path=str(package))
    assert openapi.spec_path(app) == tmp_path / "openapi.yaml"
    init_app(app, "svc-test")
    c = app.test_client()
    served = c.get("/openapi.json", base_url="http://svc.example:8123")
    assert served.status_code == 200 and served.is_json
    spec = served.get_json()
    assert spec["info"]["title"] == "svc-test" and set(spec["paths"]) == {"/things/{thing_id}", "/things"}
    assert spec["servers"] == [{"url": "http://svc.example:8123"}]  # where it was fetched from
    docs = c.get("/docs")
    html = docs.get_data(as_text=True)
    assert docs.status_code == 200 and docs.mimetype == "text/html"
    assert "default-src 'none'" in docs.headers["Content-Security-Policy"]
    assert "<script" not in html and "&lt;script&gt;" in html and "&lt;b&gt;test&lt;/b&gt;" in html  # escaped
    assert "http://" not in html and "https://" not in html  # nothing fetched from anywhere
    for expected in ("GET</span> <code>/things/{thing_id}</code>", "POST</span> <code>/things</code>",
                     "<code>limit</code> (query)", "maximum 200", "NewThing {name: string (maxLength 20), "
                     "tags?: array of string}", "<b>404</b> No such thing", 'href="openapi.json"'):
        assert expected in html, expected


def test_no_openapi_document_no_routes():
    app = Flask(__name__)  # tests/ has no ../openapi.yaml
    init_app(app, "svc-test")
    assert app.test_client().get("/openapi.json").status_code == 404


# --- test clean-up of the shared database (svc_common.pg_cleanup) ----------------------------------

def test_purge_events_deletes_an_event_and_everything_booked_for_it():
    url = database_url_from_env()
    if not url or not url.startswith("postgresql"):
        pytest.skip("DATABASE_URL / DB_* not set: no Postgres to clean up")
    import uuid

    import psycopg

    from svc_common.pg_cleanup import conninfo, purge_events

    with psycopg.connect(conninfo(url), autocommit=True, connect_timeout=5) as conn:
        if any(conn.execute("SELECT to_regclass(%s)", (t,)).fetchone()[0] is None
               for t in ("events", "bookings", "booking_requests", "booking_status_outbox")):
            pytest.skip("the booking tables are not migrated here")
        ids = [conn.execute("INSERT INTO events (name, date, venue, capacity, tickets_available) "
                            "VALUES ('purge-test', '2030-01-01', 'x', 5, 4) RETURNING id").fetchone()[0]
               for _ in range(2)]
        booking = str(uuid.uuid4())
        conn.execute("INSERT INTO booking_requests (idempotency_key, request_hash, booking_id, event_id, user_id, "
                     "ticket_count, requested_at) VALUES (%s, 'h', %s, %s, 'u', 1, 0)", (f"purge-{booking}", booking, ids[0]))
        conn.execute("INSERT INTO bookings (booking_id, event_id, user_id, ticket_count, status, requested_at) "
                     "VALUES (%s, %s, 'u', 1, 'confirmed', 0)", (booking, ids[0]))
        conn.execute("INSERT INTO booking_status_outbox (booking_id, topic, payload) VALUES (%s, 't', '{}')", (booking,))
        assert purge_events(url, ids) == 2
        for table, column, value in (("events", "id", ids[0]), ("events", "id", ids[1]),
                                     ("bookings", "booking_id", booking), ("booking_requests", "booking_id", booking),
                                     ("booking_status_outbox", "booking_id", booking)):
            assert conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", (value,)).fetchone()[0] == 0
    assert purge_events(url, []) == 0
