"""HTTP: POST /book, GET /bookings/<id>, /health, /ready."""
from __future__ import annotations

import logging
import time
import uuid

from flask import Blueprint, after_this_request, current_app, g, jsonify, request

from svc_common.errors import ApiError
from svc_common.readiness import OK, readiness
from svc_common.request_id import REQUEST_ID_HEADER, get_request_id

from . import metrics as m
from . import models
from .claims import ClaimRejected, ClaimUnavailable, Record
from .producer import PublishError
from .validation import (
    IDEMPOTENCY_HEADER,
    NO_KEY_HEADER,
    NO_KEY_PREFIX,
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


def _accepted(booking_id: str, replayed: bool, placed: tuple[int, int] | None = None):
    # on the request's access-log line, not a line of their own: where Kafka put the message
    # (partition, offset) is what `sandbox trace` follows to the consumer's batch
    g.log_extra = {"booking_id": booking_id, "replayed": replayed}
    if placed is not None:
        g.log_extra["partition"], g.log_extra["offset"] = placed
    resp = jsonify(accepted_body(booking_id))
    resp.status_code = 202
    resp.headers["Location"] = f"/bookings/{booking_id}"
    if replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


def _mark_not_deduplicated(response):
    response.headers[NO_KEY_HEADER] = "true"
    return response


@bookings_bp.post("/book")
def book():
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError("request body must be JSON (Content-Type: application/json)", "body")
    fields = parse_booking(body)
    key = parse_idempotency_key(request.headers.get(IDEMPOTENCY_HEADER))
    digest = request_hash(fields)
    if not _ext("events").exists(fields["event_id"]):
        raise ApiError(f"event {fields['event_id']} not found", "event_id", 404)

    kafka_down = _ext("publisher").health.down()
    if kafka_down:
        # known down (every broker unreachable, or a delivery just timed out): refuse at once,
        # before anything is written, rather than hold the request for delivery.timeout.ms
        m.BOOKINGS_REFUSED.inc()
        g.log_extra = {"kafka": kafka_down}
        raise ApiError("bookings cannot be queued now (Kafka unavailable), retry", None, 503)

    booking_id = str(uuid.uuid4())
    if key is None:
        # No key (the seed's clients): a new booking, recorded under a key of its own, so inside the
        # system it is as exactly-once as any other (one record, one booking id, recorded at most
        # once by the consumer); only a retry by the client cannot be recognised. Said on the answer.
        key = NO_KEY_PREFIX + booking_id
        m.BOOKINGS_WITHOUT_KEY.inc()
        after_this_request(_mark_not_deduplicated)
    record = Record(key, digest, booking_id, fields["event_id"], fields["user_id"], fields["ticket_count"],
                    time.time())
    try:
        record, created = _ext("claims").claim(record, get_request_id())
    except ClaimUnavailable as exc:
        log.warning("idempotency record not written", extra={"error": str(exc)[:200]})
        raise ApiError("database unavailable, retry with the same Idempotency-Key", None, 503, retryable=True) from exc
    except ClaimRejected as exc:  # the database refused this one row (its batch went on without it)
        log.warning("idempotency record refused", extra={"error": str(exc)[:200]})
        raise ApiError("the booking could not be stored: a field holds a value the database refuses", "body", 400) \
            from exc
    if not created:
        if record.request_hash != digest:
            raise ApiError(f"{IDEMPOTENCY_HEADER} was already used with a different request body",
                           IDEMPOTENCY_HEADER, 422)
        if record.published:
            m.BOOKINGS_REPLAYED.inc()
            return _accepted(record.booking_id, replayed=True)
        # Earlier attempt not acknowledged (or still in flight): publish the same booking id again;
        # the consumer records a booking id at most once.
    booking_id = record.booking_id
    stored_fields = {"event_id": record.event_id, "user_id": record.user_id, "ticket_count": record.ticket_count}
    g.log_extra = {"booking_id": booking_id}  # a 503 below names the booking on its access line too
    t0 = time.perf_counter()
    try:
        placed = _ext("publisher").publish(
            key=str(record.event_id),
            value=booking_message(booking_id, stored_fields, record.requested_at),
            headers=[(REQUEST_ID_HEADER.lower(), get_request_id().encode())],
        )
    except PublishError as exc:
        m.BOOKINGS_PUBLISH_FAILED.inc()
        log.error("publish failed", extra={"booking_id": booking_id, "error": str(exc)})
        # The message may still arrive late: booking_id lets the client look it up; a retry with the
        # same key re-publishes this booking_id (recorded at most once).
        raise ApiError("booking could not be queued, retry with the same Idempotency-Key", None, 503,
                       retryable=True, booking_id=booking_id) from exc
    m.PUBLISH_SECONDS.observe(time.perf_counter() - t0)
    try:
        _ext("claims").mark_published(key)
    except ClaimUnavailable as exc:  # Kafka has the booking: it will be decided; a retry re-publishes the same id
        log.warning("published mark not written", extra={"booking_id": booking_id, "error": str(exc)[:200]})
    m.BOOKINGS_PUBLISHED.inc()
    return _accepted(booking_id, replayed=not created, placed=placed)


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
    """Ready when this replica can take bookings itself: its database pool is built (at start), the
    group-commit writer thread and the Kafka producer with its delivery thread run (both started
    here in the serving process if they were not, so the first booking does not pay for them).
    Postgres and Kafka are reported, not decisive: while one is down every replica stays in the
    balancer and answers 503 ``retryable`` itself (at once for Kafka, see ``book``), rather than
    all of them leaving it."""
    own = {"claim-writer": OK if _ext("claims").running() else "stopped",
           "kafka-producer": OK if _ext("publisher").running() else "stopped"}
    body, status = readiness(own, [_ext("postgres"), _ext("publisher").health])
    return jsonify(body), status
