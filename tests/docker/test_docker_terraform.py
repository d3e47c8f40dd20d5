"""The Terraform task on the docker runtime: `terraform/aws` applied to the AWS container (the
project's emulator stand-in), then what needs its resources - the ticket-generator Lambda (run
inside that container by the project's executor) and the user-service and frontend containers.
Skipped when the CLI or its provider mirror is missing (as the native task is)."""

from __future__ import annotations

import uuid
from contextlib import suppress

import pytest
import requests

from sandbox.health import Health
from sandbox.poll import until, wait_for
from tests.docker.conftest import need


@pytest.fixture(scope="module")
def applied(docker_components):
    from sandbox.components.docker.terraform import Terraform

    aws = need(docker_components, "aws")
    task = Terraform(aws.settings, aws.state)
    reason = task.missing()
    if reason:
        pytest.skip(reason)
    task.after_start()
    return task


def _aws(task, service):
    import boto3

    from sandbox.components.aws import Aws

    env = Aws(task.settings, task.state).env()
    return boto3.client(service, endpoint_url=env["AWS_ENDPOINT_URL"], region_name=env["AWS_DEFAULT_REGION"],
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_apply_is_healthy_and_exports_the_outputs(applied):
    health = applied.health()
    assert health.ok, health.detail
    env = applied.env()
    assert {"RAW_DATA_BUCKET", "USERS_TABLE", "TICKET_GENERATOR_FUNCTION"} <= set(env)
    assert _aws(applied, "dynamodb").describe_table(TableName=env["USERS_TABLE"])["Table"]["TableStatus"] == "ACTIVE"


def test_upload_runs_the_lambda_inside_the_emulator_container_with_its_log_on_the_host(applied, docker_components):
    env = applied.env()
    s3 = _aws(applied, "s3")
    booking = f"dk{uuid.uuid4().hex[:8]}"
    s3.put_object(Bucket=env["RAW_DATA_BUCKET"], Key=f"uploads/{booking}.json", Body=b"{}",
                  Metadata={"booking-id": booking, "event-name": "Docker Night"})
    key, found = f"tickets/{booking}.pdf", None
    with suppress(TimeoutError):  # the assertion shows the emulator's log
        found = until(lambda: s3.list_objects_v2(Bucket=env["RAW_DATA_BUCKET"], Prefix=key).get("KeyCount"),
                      timeout=90, what=key, interval=1)
    assert found, f"no {key}: {docker_components['components']['aws'].logs_text(30)}"
    assert s3.get_object(Bucket=env["RAW_DATA_BUCKET"], Key=key)["Body"].read().startswith(b"%PDF")
    aws = docker_components["components"]["aws"]
    assert aws.runs_emulator, f"{aws.image} is not the emulator stand-in (make images)"
    log = aws.state.log_file("lambda")  # the executor writes an invocation's record once it returned

    def recorded() -> Health:
        text = log.read_text() if log.exists() else ""
        return Health(booking in text and "Status: ok" in text.split(booking, 1)[1], text[-2000:])

    health = wait_for(recorded, timeout=10)
    assert health.ok, health.detail


def test_user_service_and_frontend_containers(applied, docker_components):
    """user-service on the Terraform table; the frontend proxies to it by its network name (its
    /ready also wants event-catalog and booking-service, which test_docker_services runs)."""
    from sandbox import components

    need(docker_components, "postgres")
    need(docker_components, "kafka")
    users, frontend = (components.load(name, "docker")(applied.settings, applied.state)
                      for name in ("user-service", "frontend"))
    try:
        for comp in (users, frontend):
            comp.preflight()
            comp.start()
        users.wait_healthy(90)
        created = requests.post(f"{users.url}/users", json={"name": "Docker Ada", "email": f"{uuid.uuid4().hex[:6]}@x.test"},
                                timeout=10)
        assert created.status_code == 201, created.text
        user_id = created.json()["user_id"]
        assert requests.get(f"{users.url}/users/{user_id}", timeout=10).json()["name"] == "Docker Ada"
        got = None

        def proxied() -> bool:
            nonlocal got
            got = requests.get(f"{frontend.url}/api/users/{user_id}", timeout=5)
            return got.status_code == 200

        with suppress(TimeoutError):  # the assertion shows the frontend's log
            until(proxied, timeout=60, what=f"user {user_id} through the frontend", interval=0.5,
                  not_yet=(requests.ConnectionError,))
        assert got is not None and got.status_code == 200 and got.json()["name"] == "Docker Ada", frontend.logs_text(10)
    finally:
        for comp in (users, frontend):
            comp.stop()
