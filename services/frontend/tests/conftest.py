"""Fixtures: real S3 + DynamoDB endpoints (svc_common.aws_test_fixtures: the sandbox's, or a moto
server started there), the real user-service app served over HTTP in this process, and frontend
apps wired to them."""
from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

SERVICE_DIR = Path(__file__).resolve().parents[1]
SERVICES = SERVICE_DIR.parent
for path in (SERVICE_DIR, SERVICES / "user-service", SERVICES / "ticket-generator", SERVICES / "common"):
    sys.path.insert(0, str(path))

pytest_plugins = ["svc_common.aws_test_fixtures"]


class ServedApp:
    """A WSGI app served over real HTTP on a free port, in a thread of this process."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(scope="session")
def serve():
    served = []

    def start(app) -> str:
        server = ServedApp(app)
        served.append(server)
        return server.url
    yield start
    for server in served:
        server.stop()


@pytest.fixture(scope="session")
def user_service_url(users_table, serve):
    """The real user-service, over HTTP."""
    from user_service.app import create_app as create_user_service
    return serve(create_user_service({"USERS_TABLE": users_table}))


@pytest.fixture(scope="session")
def dead_url():
    """A URL where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture()
def make_frontend(user_service_url, bucket):
    """Frontend apps wired to the real user-service and bucket; booking/event services unset unless given."""
    from frontend.app import create_app
    apps = []

    def make(**overrides):
        config = {"TESTING": True, "USER_SERVICE_URL": user_service_url, "RAW_DATA_BUCKET": bucket,
                  "EVENT_SERVICE_URL": "", "BOOKING_SERVICE_URL": "", "KAFKA_BROKERS": ""}
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app
    yield make
    for app in apps:
        app.extensions["analytics"].stop()


@pytest.fixture()
def client(make_frontend):
    return make_frontend().test_client()


@pytest.fixture()
def upload_keys(s3, bucket):
    """All keys under uploads/ (to check that bad requests write nothing)."""
    def keys() -> set[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="uploads/")
        return {obj["Key"] for page in pages for obj in page.get("Contents", [])}
    return keys
