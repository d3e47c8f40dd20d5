"""Fixtures: the app, on a real DynamoDB endpoint from svc_common.aws_test_fixtures (the sandbox's,
or a moto server started there)."""
from __future__ import annotations

import pytest

pytest_plugins = ["svc_common.aws_test_fixtures"]


@pytest.fixture()
def app(users_table, dynamodb):
    """The app on a store that remembers the users it created, deleted (with their email claims)
    afterwards: on the sandbox's table (under `make test`) the tests leave nothing behind."""
    from user_service.app import create_app
    from user_service.models import UserStore, email_claim_key

    created: list[dict] = []

    class CleanedUpStore(UserStore):
        def create(self, name: str, email: str) -> dict:
            user = super().create(name, email)
            created.append(user)
            return user

    yield create_app({"TESTING": True, "USER_STORE": CleanedUpStore(users_table)})
    for user in created:
        for key in (user["user_id"], email_claim_key(user["email"])):
            dynamodb.delete_item(TableName=users_table, Key={"user_id": {"S": key}})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def count_items(dynamodb, users_table):
    def count() -> int:
        pages = dynamodb.get_paginator("scan").paginate(TableName=users_table, Select="COUNT", ConsistentRead=True)
        return sum(page["Count"] for page in pages)
    return count
