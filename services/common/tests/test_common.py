import json
import logging
import os
import subprocess
import sys
from pathlib import Path

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
    assert r.status_code == 413 and r.get_json() == {"error": "request body too large", "field": "body"}
    r = c.get("/boom")
    assert r.status_code == 500 and r.get_json() == {"error": "internal error", "field": None}
    r = c.get("/missing", headers={"X-Request-ID": "bad id"})
    assert r.status_code == 404 and r.get_json()["field"] is None and len(r.headers["X-Request-ID"]) == 32
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


def test_metrics_payload_aggregates_worker_processes(tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR the payload adds up every process's files (here: two workers)."""
    script = (
        "from svc_common.metrics import HTTP_REQUESTS, metrics_payload\n"
        "HTTP_REQUESTS.labels('svc-test', 'GET', '/x', '200').inc()\n"
        "print(metrics_payload().decode())\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
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
    (tmp_path / "Dockerfile").write_text("FROM python:3.11-slim\nCMD flask run\n")
    (tmp_path / "requirements.txt").write_text("Flask>=3\n")
    for check in service_layout.checks(http_service=True):
        with pytest.raises(AssertionError):
            check(tmp_path)

