import json
import logging

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from svc_common import logs
from svc_common.db import database_url_from_env
from svc_common.errors import ApiError, register_error_handlers
from svc_common.http import init_app
from svc_common.migrations import apply


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
    assert logs.clean_request_id("abc-1.2:3") == "abc-1.2:3"
    for bad in (None, "", "has space", "x" * 200, "new\nline"):
        assert len(logs.clean_request_id(bad)) == 32


def test_flask_wiring_request_id_errors_metrics(capfd):
    logs.configure_logging("svc-test")
    app = Flask(__name__)
    init_app(app, "svc-test")
    register_error_handlers(app)
    app.config["MAX_CONTENT_LENGTH"] = 10

    @app.post("/thing")
    def thing():
        from flask import request

        request.get_data()  # reading the body enforces MAX_CONTENT_LENGTH
        raise ApiError("bad thing", "thing", 422)

    @app.get("/boom")
    def boom():
        raise RuntimeError("x")

    c = app.test_client()
    r = c.post("/thing", headers={"X-Request-ID": "rid-42"})
    assert r.status_code == 422 and r.get_json() == {"error": "bad thing", "field": "thing"}
    assert r.headers["X-Request-ID"] == "rid-42"
    assert c.post("/thing", data="x" * 100).status_code == 413
    assert c.post("/thing", data="x" * 100).get_json()["field"] == "body"
    r = c.get("/boom")
    assert r.status_code == 500 and r.get_json()["error"] == "internal error"
    assert c.get("/missing").status_code == 404
    m = c.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{method="POST",route="/thing",service="svc-test",status="422"}' in m
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.startswith("{")]
    assert any(x.get("request_id") == "rid-42" and x["message"] == "request" for x in lines)
    logging.getLogger().handlers.clear()


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
