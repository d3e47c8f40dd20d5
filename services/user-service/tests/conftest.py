"""Fixtures: a real DynamoDB endpoint (the sandbox's, or a moto server started here) and the app.

When ``AWS_ENDPOINT_URL`` is set the tests use that endpoint (the sandbox); otherwise they start
``moto_server`` on 127.0.0.1:4598 (or a free port) for the session. When ``USERS_TABLE`` is set the
table is the sandbox's (made by Terraform); otherwise a throwaway table is created here.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests

SERVICE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SERVICE_DIR))
sys.path.insert(0, str(SERVICE_DIR.parent / "common"))  # svc_common: shared observability

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
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(url + "/moto-api/", timeout=1)
            break
        except requests.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto_server did not start: " + proc.stderr.read().decode()[-2000:])
            time.sleep(0.1)
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


@pytest.fixture()
def app(users_table):
    from user_service import create_app
    return create_app({"TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def count_items(dynamodb, users_table):
    def count() -> int:
        pages = dynamodb.get_paginator("scan").paginate(TableName=users_table, Select="COUNT", ConsistentRead=True)
        return sum(page["Count"] for page in pages)
    return count
