"""pytest plugin shared by the AWS-backed services' tests (frontend, user-service, ticket-generator):
real S3 + DynamoDB endpoints — the sandbox's, or a moto server started here.

When ``AWS_ENDPOINT_URL`` is set the tests use that endpoint (the sandbox); otherwise they start
``moto_server`` on 127.0.0.1:4598 (or a free port) for the session. When ``USERS_TABLE`` is set the
table is the sandbox's (made by Terraform); otherwise a throwaway table is created here; the same
for ``RAW_DATA_BUCKET``. Use it with ``pytest_plugins = ["svc_common.aws_test_fixtures"]``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest
import requests

from sandbox.poll import ProcessExited, until

MOTO_PORT = 4598
def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def aws_endpoint():
    """The AWS endpoint URL for the session; starts moto_server when none is configured."""
    for key, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test",
                       "AWS_SECRET_ACCESS_KEY": "test"}.items():
        os.environ.setdefault(key, value)
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield os.environ["AWS_ENDPOINT_URL"]
        return
    port = MOTO_PORT if _port_free(MOTO_PORT) else _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        if proc.poll() is not None:
            raise ProcessExited(f"moto_server exited with {proc.returncode}")
        requests.get(url + "/moto-api/", timeout=1)  # any answer: it is up
        return True

    try:
        until(answers, 30, f"moto_server on {url}", interval=0.1, not_yet=(requests.ConnectionError,))
    except (ProcessExited, TimeoutError):
        proc.kill()
        raise RuntimeError("moto_server did not start: " + proc.stderr.read().decode()[-2000:]) from None
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()
        del os.environ["AWS_ENDPOINT_URL"]


@pytest.fixture(scope="session")
def dynamodb(aws_endpoint):
    return boto3.client("dynamodb")


@pytest.fixture(scope="session")
def users_table(dynamodb):
    """The users table name: the sandbox's (USERS_TABLE) or a throwaway one."""
    if os.environ.get("USERS_TABLE"):
        yield os.environ["USERS_TABLE"]
        return
    name = f"test-users-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "user_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "user_id", "KeyType": "HASH"}],
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    os.environ["USERS_TABLE"] = name
    try:
        yield name
    finally:
        del os.environ["USERS_TABLE"]
        dynamodb.delete_table(TableName=name)




@pytest.fixture(scope="session")
def s3(aws_endpoint):
    return boto3.client("s3")


@pytest.fixture(scope="session")
def bucket(s3):
    """The raw-data bucket: the sandbox's (RAW_DATA_BUCKET) or a throwaway one."""
    if os.environ.get("RAW_DATA_BUCKET"):
        yield os.environ["RAW_DATA_BUCKET"]
        return
    name = f"test-raw-data-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    os.environ["RAW_DATA_BUCKET"] = name
    try:
        yield name
    finally:
        del os.environ["RAW_DATA_BUCKET"]
        objects = s3.list_objects_v2(Bucket=name).get("Contents", [])
        for obj in objects:
            s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)
