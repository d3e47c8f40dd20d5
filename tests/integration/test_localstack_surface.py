"""Tools written for LocalStack work against the native sandbox unchanged: its health and init
endpoints answer in LocalStack's shapes, and the localstack-client package reaches the emulator."""

import requests

from tests.integration.conftest import status_json


def test_localstack_health_lists_the_services_running(sandbox_env):
    health = requests.get(f"{sandbox_env['AWS_ENDPOINT_URL']}/_localstack/health", timeout=5)
    assert health.status_code == 200
    services = health.json()["services"]
    assert {services[name] for name in ("s3", "lambda", "dynamodb", "sqs", "sts")} == {"running"}


def test_init_ready_stage_completed_once_the_sandbox_is_up(sandbox_env):
    init = requests.get(f"{sandbox_env['AWS_ENDPOINT_URL']}/_localstack/init/ready", timeout=5).json()
    assert init["completed"] is True
    row = {r["component"]: r for r in status_json()}["init"]
    assert row["state"] == "done" and row["healthy"]


def test_localstack_client_reaches_the_emulator(sandbox_env, monkeypatch):
    import localstack_client.session

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # the client's own discovery, as users run it
    host = sandbox_env["AWS_ENDPOINT_URL"].removeprefix("http://")
    session = localstack_client.session.Session(localstack_host=host)
    bucket = "localstack-client-check"
    s3 = session.client("s3")
    s3.create_bucket(Bucket=bucket)
    try:
        assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    finally:
        s3.delete_bucket(Bucket=bucket)
