"""HTTP: POST /book, GET /bookings/<id>, /health, /ready."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Blueprint, current_app, g, jsonify, request

from svc_common.errors import ApiError
from svc_common.logs import REQUEST_ID_HEADER

from . import metrics as m
from . import models
from .producer import PublishError
from .validation import (
    IDEMPOTENCY_HEADER,
    accepted_body,
    booking_message,
    parse_booking,
    parse_booking_id,
    parse_idempotency_key,
    request_hash,
)

log = logging.getLogger(__name__)
bookings_bp = Blueprint("bookings", __name__)
health_bp = Blueprint("health", __name__)


def _ext(name):
    return current_app.extensions[f"booking_service.{name}"]


def _accepted(booking_id: str, replayed: bool):
    resp = jsonify(accepted_body(booking_id))
    resp.status_code = 202
    resp.headers["Location"] = f"/bookings/{booking_id}"
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bookings_bp.post("/book")
def book():
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError("request body must be JSON (Content-Type: application/json)", "body")
    fields = parse_booking(body)
    key = parse_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    digest = request_hash(fields)
    engine = _ext("engine")
    if not _ext("events").exists(fields["event_id"]):
        raise ApiError(f"event {fields['event_id']} not found", "event_id", 404)

    now = time.time()
    row, created = models.claim_key(engine, key, digest, str(uuid.uuid4()), fields, now, g.request_id)
    if not created:
        if row.request_hash != digest:
            raise ApiError(f"{IDEMPOTENCY_HEADER} was already used with a different request body",
                           IDEMPOTENCY_HEADER, 422)
        if row.published_at is not None:
            m.BOOKINGS_REPLAYED.inc()
            return _accepted(row.booking_id, replayed=True)
        # Earlier attempt not acknowledged (or still in flight): publish the same booking id again;
        # the consumer records a booking id at most once.
    booking_id = row.booking_id
    stored_fields = {"event_id": row.event_id, "user_id": row.user_id, "ticket_count": row.ticket_count}
    t0 = time.perf_counter()
    try:
        _ext("publisher").publish(
            key=str(row.event_id),
            value=booking_message(booking_id, stored_fields, row.requested_at),
            headers=[(REQUEST_ID_HEADER.lower(), g.request_id.encode())],
        )
    except PublishError as exc:
        m.BOOKINGS_PUBLISH_FAILED.inc()
        log.error("publish failed", extra={"booking_id": booking_id, "error": str(exc)})
        # The message may still arrive late: booking_id lets the client look it up; a retry with the
        # same key re-publishes this booking_id (recorded at most once).
        raise ApiError("booking could not be queued, retry with the same Idempotency-Key", None, 503,
                       retryable=True, booking_id=booking_id) from exc
    m.PUBLISH_SECONDS.observe(time.perf_counter() - t0)
    models.mark_published(engine, key)
    m.BOOKINGS_PUBLISHED.inc()
    log.info("booking accepted", extra={"booking_id": booking_id, "event_id": row.event_id,
                                        "ticket_count": row.ticket_count, "replayed": not created})
    return _accepted(booking_id, replayed=not created)


@bookings_bp.get("/bookings/<raw_id>")
def get_booking(raw_id: str):
    booking_id = parse_booking_id(raw_id)
    status = models.booking_status(_ext("engine"), booking_id)
    if status is None:
        raise ApiError(f"booking {booking_id} not found", "booking_id", 404)
    return jsonify(status)


@health_bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@health_bp.get("/ready")
def ready():
    try:
        models.check(_ext("engine"))
        db = "ok"
    except Exception as exc:  # noqa: BLE001
        db = str(exc).splitlines()[0]
    kafka = _ext("publisher").topic_available()
    ok = db == "ok" and kafka == "ok"
    return jsonify({"status": "ready" if ok else "unavailable", "database": db, "kafka": kafka}), (200 if ok else 503)
