"""Fixtures: real S3 + DynamoDB endpoints (svc_common.aws_test_fixtures: the sandbox's, or a moto
server started there), the real user-service app served over HTTP in this process, and frontend
apps wired to them."""
from __future__ import annotations

import os
import socket
import threading

import pytest
from werkzeug.serving import make_server

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
def user_service_url(users_table, serve, dynamodb):
    """The real user-service, over HTTP; the users it registers are deleted (with their email
    claims) at the end, so the sandbox's table (under `make test`) is left as it was."""
    from user_service.app import create_app as create_user_service
    from user_service.models import UserStore, email_claim_key

    created: list[dict] = []

    class CleanedUpStore(UserStore):
        def create(self, name: str, email: str) -> dict:
            created.append(super().create(name, email))
            return created[-1]

    yield serve(create_user_service({"USERS_TABLE": users_table, "USER_STORE": CleanedUpStore(users_table)}))
    for user in created:
        for key in (user["user_id"], email_claim_key(user["email"])):
            dynamodb.delete_item(TableName=users_table, Key={"user_id": {"S": key}})


@pytest.fixture()
def own_event():
    """Factory: an event of this test's own on the sandbox's event-catalog (EVENT_SERVICE_URL), so
    bookings never take seats of the developer's events; afterwards it is purged with its bookings
    (DATABASE_URL/DB_*, as under `make test`) or, without a database, deleted if nobody booked it."""
    import uuid

    import requests

    from svc_common.db import database_url_from_env
    from svc_common.pg_cleanup import purge_events

    made: list[int] = []
    catalog = os.environ.get("EVENT_SERVICE_URL", "").rstrip("/")

    def make(capacity: int = 20) -> dict:
        if not catalog:
            pytest.skip("needs the sandbox: EVENT_SERVICE_URL not set (run inside `sandbox env`)")
        r = requests.post(f"{catalog}/events", timeout=10, json={
            "name": f"frontend-test-{uuid.uuid4().hex[:10]}", "date": "2027-06-01", "venue": "Test Hall",
            "capacity": capacity})
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
        return r.json()

    yield make
    url = database_url_from_env()
    if url and url.startswith("postgresql"):
        purge_events(url, made, wait_decided_s=15)  # decided by the sandbox's consumer
    else:
        for event_id in made:
            requests.delete(f"{catalog}/events/{event_id}", timeout=10)


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
