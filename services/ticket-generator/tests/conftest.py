"""Fixtures: real S3 + DynamoDB endpoints (svc_common.aws_test_fixtures: the sandbox's, or a moto
server started here)."""
from __future__ import annotations

import uuid

import pytest

pytest_plugins = ["svc_common.aws_test_fixtures"]


@pytest.fixture
def bucket(s3):
    """A throwaway bucket, even against the sandbox: the handler takes the bucket from the event,
    and the sandbox's raw-data bucket notifies the sandbox's own (warm, fast) ticket-generator,
    which would race the test to write the ticket."""
    name = f"test-tickets-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        for obj in s3.list_objects_v2(Bucket=name).get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
        s3.delete_bucket(Bucket=name)
