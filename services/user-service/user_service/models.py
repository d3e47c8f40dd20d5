"""Users in DynamoDB (state only; HTTP parsing lives in routes.py).

Table layout: hash key ``user_id`` (string).
- a user item: ``user_id`` (UUID4), ``name``, ``email``, ``created_at`` (ISO-8601 UTC), ``kind=user``;
- an email claim: ``user_id = "email#<lower-cased email>"``, ``owner`` (the user's id), ``kind=email``.
Both are written in one transaction with ``attribute_not_exists`` conditions, so an email is
registered at most once even under concurrent requests (a duplicate is answered 409).
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
# /ready's check: one short attempt (svc_common.readiness runs it in the background)
_PROBE_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"})


class DuplicateEmail(Exception):
    """The email is already registered to another user."""


def email_claim_key(email: str) -> str:
    return "email#" + email.lower()


class UserStore:
    def __init__(self, table_name: str, client=None):
        self.table_name = table_name
        self.client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)
        self.probe_client = client or boto3.client("dynamodb", config=_PROBE_CONFIG)

    def create(self, name: str, email: str) -> dict:
        user = {
            "user_id": str(uuid.uuid4()),
            "name": name,
            "email": email,
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
        claim = {"user_id": {"S": email_claim_key(email)}, "owner": {"S": user["user_id"]}, "kind": {"S": "email"}}
        item = {key: {"S": value} for key, value in user.items()} | {"kind": {"S": "user"}}
        try:
            self.client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table_name, "Item": claim,
                         "ConditionExpression": "attribute_not_exists(user_id)"}},
                {"Put": {"TableName": self.table_name, "Item": item,
                         "ConditionExpression": "attribute_not_exists(user_id)"}},
            ])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                raise DuplicateEmail(email) from error
            if self._claim_exists(email):
                raise DuplicateEmail(email) from error
            raise
        return user

    def get(self, user_id: str) -> dict | None:
        response = self.client.get_item(
            TableName=self.table_name, Key={"user_id": {"S": user_id}}, ConsistentRead=True,
        )
        item = response.get("Item")
        if not item or item.get("kind", {}).get("S", "user") != "user":
            return None
        return {key: item[key]["S"] for key in ("user_id", "name", "email", "created_at") if key in item}

    def ping(self) -> None:
        """Raise unless the table exists and answers."""
        self.probe_client.describe_table(TableName=self.table_name)

    def _claim_exists(self, email: str) -> bool:
        response = self.client.get_item(
            TableName=self.table_name, Key={"user_id": {"S": email_claim_key(email)}}, ConsistentRead=True,
        )
        return "Item" in response
