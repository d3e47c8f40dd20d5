"""The OpenAPI document is valid and names every route; the service runs under its production server."""
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import requests
import yaml
from openapi_spec_validator import validate

from sandbox.health import HttpProbe
from sandbox.poll import wait_for

SERVICE_DIR = Path(__file__).resolve().parent.parent


def test_openapi_valid_and_complete(sqlite_app):
    spec = yaml.safe_load((SERVICE_DIR / "openapi.yaml").read_text())
    validate(spec)
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.rule) for r in sqlite_app.url_map.iter_rules()
              if r.endpoint != "static"}
    documented = {re.sub(r"\{\w+\}", "{}", p) for p in spec["paths"]}
    assert {re.sub(r"\{\w+\}", "{}", r) for r in routes} == documented


def test_migrate_and_serve(tmp_path):
    """``python -m event_catalog.migrate`` then the documented server command line."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PORT": str(port)}
    if not (env.get("DATABASE_URL") or env.get("DB_HOST")):
        env["EVENT_CATALOG_SQLITE_URL"] = f"sqlite:///{tmp_path / 'events.db'}"
    subprocess.run([sys.executable, "-m", "event_catalog.migrate"], cwd=SERVICE_DIR, env=env, check=True,
                   capture_output=True, timeout=60)
    proc = subprocess.Popen([sys.executable, "-m", "svc_common.serve", "event_catalog.app:create_app"],
                            cwd=SERVICE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ok = wait_for(HttpProbe(f"http://127.0.0.1:{port}/ready", timeout=10), 60).ok
        assert ok, "the server did not become ready"
        r = requests.get(f"http://127.0.0.1:{port}/events", headers={"X-Request-ID": "serve-rid"}, timeout=5)
        assert r.status_code == 200 and len(r.json()) >= 5 and r.headers["X-Request-ID"] == "serve-rid"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert b"serve-rid" in err  # JSON access log carries the request id
