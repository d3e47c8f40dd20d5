"""/api/users through the gateway to the real user-service (DynamoDB behind it)."""
from __future__ import annotations

import uuid

import pytest


def email() -> str:
    return f"u-{uuid.uuid4().hex[:10]}@example.com"


def count_users(dynamodb, table) -> int:
    return sum(p["Count"] for p in dynamodb.get_paginator("scan").paginate(TableName=table, Select="COUNT", ConsistentRead=True))


def test_register_and_get_user(client, dynamodb, users_table):
    created = client.post("/api/users", json={"name": "Ada", "email": email()})
    assert created.status_code == 201
    user = created.get_json()
    item = dynamodb.get_item(TableName=users_table, Key={"user_id": {"S": user["user_id"]}})["Item"]
    assert item["name"]["S"] == "Ada"
    fetched = client.get(f"/api/users/{user['user_id']}")
    assert fetched.status_code == 200 and fetched.get_json() == user


def test_request_id_reaches_the_user_service(client, caplog):
    with caplog.at_level("INFO", logger="user-service.access"):
        response = client.post("/api/users", json={"name": "Ada", "email": email()},
                               headers={"X-Request-ID": "trace-frontend-1"})
    assert response.headers["X-Request-ID"] == "trace-frontend-1"
    upstream = [r for r in caplog.records if r.name == "user-service.access"]
    assert upstream and upstream[-1].request_id == "trace-frontend-1"


@pytest.mark.parametrize("kwargs, status, field", [
    ({"json": {"email": "a@example.com"}}, 400, "name"),
    ({"json": {"name": "Ada", "email": "nope"}}, 400, "email"),
    ({"json": {"name": "Ada"}}, 400, "email"),
    ({"data": "{broken", "content_type": "application/json"}, 400, "body"),
    ({"data": "name=Ada", "content_type": "application/x-www-form-urlencoded"}, 415, "body"),
    ({"data": '{"name": "' + "x" * 70000 + '"}', "content_type": "application/json"}, 413, "body"),
])
def test_bad_user_input_is_4xx_json_and_writes_nothing(client, dynamodb, users_table, kwargs, status, field):
    before = count_users(dynamodb, users_table)
    response = client.post("/api/users", **kwargs)
    assert response.status_code == status
    assert response.get_json()["field"] == field
    assert count_users(dynamodb, users_table) == before


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid", "a" * 65, "bad%20id"])
def test_unknown_user_is_404_json(client, user_id):
    response = client.get(f"/api/users/{user_id}")
    assert response.status_code == 404
    assert response.get_json()["field"] == "user_id"
