"""Fixtures: the app, on a real DynamoDB endpoint from svc_common.aws_test_fixtures (the sandbox's,
or a moto server started there)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

SERVICE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SERVICE_DIR))
sys.path.insert(0, str(SERVICE_DIR.parent / "common"))  # svc_common


pytest_plugins = ["svc_common.aws_test_fixtures"]


@pytest.fixture()
def app(users_table):
    from user_service.app import create_app
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
