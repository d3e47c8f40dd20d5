"""The raw-data bucket: ID-proof uploads in, PDF tickets out."""
from __future__ import annotations

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"})
# /ready's check: one short attempt (svc_common.readiness runs it in the background)
_PROBE_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1, "mode": "standard"})


class RawDataBucket:
    def __init__(self, bucket: str, client=None):
        self.bucket = bucket
        self.client = client or boto3.client("s3", config=_CLIENT_CONFIG)
        self.probe_client = client or boto3.client("s3", config=_PROBE_CONFIG)

    def put_upload(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata)

    def open_ticket(self, booking_id: str):
        """The S3 GetObject response of ``tickets/<booking_id>.pdf``, or None when it does not exist yet."""
        try:
            return self.client.get_object(Bucket=self.bucket, Key=f"tickets/{booking_id}.pdf")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def ping(self) -> None:
        """Raise unless the bucket is set and answers (for /ready)."""
        if not self.bucket:
            raise RuntimeError("RAW_DATA_BUCKET is not set")
        self.probe_client.head_bucket(Bucket=self.bucket)
