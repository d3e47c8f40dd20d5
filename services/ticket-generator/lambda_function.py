"""ticket-generator Lambda: S3 ObjectCreated under ``uploads/`` -> a PDF ticket under ``tickets/``.

Wiring only; the PDF itself comes from the pure :func:`ticket_pdf.build_ticket_pdf`.

What it resolves, in order:
- the upload's S3 object metadata, written by the frontend's ``/api/upload``: ``booking-id``,
  ``user-id``, ``event-id``, ``event-name``, ``event-date``, ``venue``, ``ticket-count`` (values are
  percent-encoded UTF-8, because S3 metadata is ASCII);
- the user's name and email from DynamoDB (``USERS_TABLE``, hash key ``user_id``), when set.

Idempotency: the ticket key is ``tickets/<booking id>.pdf`` (or, with no usable booking id,
``tickets/upload-<sha256(bucket/key/version-or-etag)[:32]>.pdf``). An existing ticket is left alone,
and the PDF bytes are a pure function of the resolved details and the S3 event time, so the same
event delivered twice - even concurrently - yields one ticket with one content.

Errors: a deleted upload (404) is skipped; DynamoDB/S3 failures raise so the invocation is retried.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from datetime import UTC, datetime
from urllib.parse import unquote, unquote_plus

import boto3
from botocore.exceptions import ClientError
from ticket_pdf import TicketDetails, build_ticket_pdf

UPLOAD_PREFIX = "uploads/"
TICKET_PREFIX = "tickets/"
SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

log = logging.getLogger("ticket-generator")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO"))

_clients: dict[str, object] = {}


def _client(name: str):
    # created lazily (not at import) so AWS_ENDPOINT_URL set after import is honoured; reused across warm invocations
    if name not in _clients:
        _clients[name] = boto3.client(name)
    return _clients[name]


def _log(message: str, **fields) -> None:
    log.info(json.dumps({"message": message, "service": "ticket-generator", **fields}, default=str))


def ticket_key_for(booking_id: str | None, bucket: str, key: str, version: str | None) -> str:
    """The deterministic ticket key of one upload."""
    if booking_id and SAFE_ID.match(booking_id):
        return f"{TICKET_PREFIX}{booking_id}.pdf"
    digest = hashlib.sha256(f"{bucket}/{key}/{version or ''}".encode()).hexdigest()[:32]
    return f"{TICKET_PREFIX}upload-{digest}.pdf"


def _meta(metadata: dict, name: str) -> str | None:
    value = metadata.get(name)
    if value is None or value == "":
        return None
    return unquote(value)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _event_time(record: dict) -> datetime | None:
    raw = record.get("eventTime")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC).replace(microsecond=0)
    except ValueError:
        return None


def lookup_user(user_id: str | None) -> dict:
    table = os.environ.get("USERS_TABLE")
    if not table or not user_id:
        return {}
    item = _client("dynamodb").get_item(
        TableName=table, Key={"user_id": {"S": user_id}}, ConsistentRead=True,
    ).get("Item")
    if not item:
        return {}
    return {key: item[key]["S"] for key in ("name", "email") if key in item and "S" in item[key]}


def _exists(bucket: str, key: str) -> bool:
    try:
        _client("s3").head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


def process_record(record: dict) -> dict:
    """Handle one S3 notification record; returns what happened to it."""
    event_name = record.get("eventName", "")
    s3_info = record.get("s3") or {}
    bucket = (s3_info.get("bucket") or {}).get("name")
    raw_key = (s3_info.get("object") or {}).get("key")
    if not event_name.startswith("ObjectCreated") or not bucket or not raw_key:
        return {"status": "ignored", "reason": "not an S3 ObjectCreated record"}
    key = unquote_plus(raw_key)
    if not key.startswith(UPLOAD_PREFIX):
        return {"status": "ignored", "reason": f"outside {UPLOAD_PREFIX}", "key": key}

    s3 = _client("s3")
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return {"status": "ignored", "reason": "upload no longer exists", "key": key}
        raise
    metadata = {name.lower(): value for name, value in (head.get("Metadata") or {}).items()}
    booking_id = _meta(metadata, "booking-id")
    version = (s3_info.get("object") or {}).get("versionId") or head.get("VersionId") or head.get("ETag", "").strip('"')
    ticket_key = ticket_key_for(booking_id, bucket, key, version)
    # who asked: the booking and the upload's HTTP request id (the frontend's X-Request-ID, in the
    # object's metadata), on the result and so on the "record processed" line, for `sandbox trace`
    origin = {name: value for name, value in (("booking_id", booking_id),
                                              ("upload_request_id", _meta(metadata, "request-id"))) if value}
    if _exists(bucket, ticket_key):
        return {"status": "exists", "key": key, "ticket": ticket_key, **origin}

    user_id = _meta(metadata, "user-id")
    user = lookup_user(user_id)
    details = TicketDetails(
        source_key=key,
        booking_id=booking_id,
        user_id=user_id,
        user_name=user.get("name"),
        user_email=user.get("email"),
        event_id=_meta(metadata, "event-id"),
        event_name=_meta(metadata, "event-name"),
        event_date=_meta(metadata, "event-date"),
        venue=_meta(metadata, "venue"),
        ticket_count=_int_or_none(_meta(metadata, "ticket-count")),
        issued_at=_event_time(record),
    )
    body = build_ticket_pdf(details)
    s3.put_object(
        Bucket=bucket, Key=ticket_key, Body=body, ContentType="application/pdf",
        Metadata={"source-key": raw_key[:1024], **({"booking-id": booking_id} if booking_id and SAFE_ID.match(booking_id) else {})},
    )
    return {"status": "created", "key": key, "ticket": ticket_key, "bytes": len(body), **origin}


def lambda_handler(event, context):
    """Entry point: ``{"tickets": [ticket keys], "results": [per record]}`` (JSON-able)."""
    request_id = getattr(context, "aws_request_id", None)
    results = []
    for record in (event or {}).get("Records", []):
        result = process_record(record)
        _log("record processed", request_id=request_id, **result)
        results.append(result)
    tickets = [r["ticket"] for r in results if r.get("ticket")]
    return {"tickets": tickets, "results": results}
