"""The API gateway: ``/api/*`` routes in front of the services and the raw-data bucket.

Proxy routes relay the upstream's status and JSON body (4xx untouched; failures as 502/503/504 JSON
of svc_common's shape, ``retryable`` true), forwarding ``Idempotency-Key`` and ``X-Request-ID``.
Upload and ticket routes talk to S3 directly (S3 down: 503, retryable).
"""
from __future__ import annotations

import re
import uuid
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, g, jsonify, request, stream_with_context
from prometheus_client import Counter

from svc_common.errors import ApiError, error_body
from svc_common.request_id import get_request_id

bp = Blueprint("api", __name__, url_prefix="/api")

BOOKINGS_FORWARDED = Counter("frontend_bookings_forwarded_total",
                             "Booking requests relayed to booking-service, by upstream status", ["status"])
UPLOADS = Counter("frontend_uploads_total", "ID-proof uploads stored in S3")

SAFE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
POSITIVE_INT = re.compile(r"^[1-9][0-9]{0,17}$")
# sniffed magic bytes -> (content type, allowed file name extensions)
ALLOWED_UPLOADS = (
    (b"%PDF-", "application/pdf", (".pdf",)),
    (b"\x89PNG\r\n\x1a\n", "image/png", (".png",)),
    (b"\xff\xd8\xff", "image/jpeg", (".jpg", ".jpeg")),
)


def upstream(name: str):
    return current_app.extensions["upstreams"][name]


def raw_bucket():
    bucket = current_app.extensions["bucket"]
    if not bucket.bucket:
        raise ApiError("RAW_DATA_BUCKET is not set", None, 503, retryable=False)
    return bucket


# the headers clients act on: replays, the missing-key notice (booking-service), retry hints,
# event-catalog's paging links (query-only references: they resolve against /api/events as they are)
# and its note that a page is a stale copy served while its database is down (Age, Cache-Status)
RELAYED_HEADERS = ("Idempotent-Replayed", "Idempotency-Key-Missing", "Retry-After", "Link", "Age", "Cache-Status")
EVENT_LIST_PARAMS = ("limit", "cursor", "name")


def relay(response) -> Response:
    """The upstream's answer as ours (status, body, content type, the headers clients act on)."""
    relayed = Response(response.content, status=response.status_code,
                       content_type=response.headers.get("Content-Type", "application/json"))
    return _copy_headers(response, relayed)


def _copy_headers(upstream_response, response: Response) -> Response:
    for name in RELAYED_HEADERS:
        if upstream_response.headers.get(name) is not None:
            response.headers[name] = upstream_response.headers[name]
    return response


def json_body_bytes() -> bytes:
    """The raw request body, bounded, for routes that forward JSON untouched."""
    limit = current_app.config["MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(f"request body larger than {limit} bytes", "body", 413)
    data = request.get_data(cache=False)
    if len(data) > limit:
        raise ApiError(f"request body larger than {limit} bytes", "body", 413)
    return data


def require_id(value: str, field: str, pattern=SAFE_ID, status: int = 404, message: str = "not found") -> str:
    if not pattern.match(value):
        raise ApiError(message, field, status)
    return value


# --- events -------------------------------------------------------------------------------------

@bp.get("/events")
def list_events():
    """One page of events (event-catalog validates limit, cursor and name; its Link header is relayed)."""
    query = urlencode([(name, request.args[name]) for name in EVENT_LIST_PARAMS if name in request.args])
    return relay(upstream("events").call("GET", "/events" + (f"?{query}" if query else "")))


@bp.get("/events/<event_id>")
def get_event(event_id: str):
    require_id(event_id, "event_id", POSITIVE_INT, message="event not found")
    return relay(upstream("events").call("GET", f"/events/{event_id}"))


# --- bookings -----------------------------------------------------------------------------------

@bp.post("/book")
def book():
    body = json_body_bytes()
    headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        if not key.strip():  # libcurl would drop an empty header, and booking-service take it as absent
            raise ApiError("Idempotency-Key must be 1..200 printable ASCII characters, not blank (or leave the header out)", "Idempotency-Key")
        headers["Idempotency-Key"] = key
    response = upstream("bookings").call("POST", "/book", data=body, headers=headers)
    if response.status_code in (200, 201, 202):
        payload = upstream("bookings").json_or_error(response)
        if isinstance(payload, dict) and payload.get("booking_id") is not None:
            g.log_extra = {"booking_id": payload["booking_id"]}  # on the access line: `sandbox trace` starts there
            payload["status_url"] = f"/api/bookings/{payload['booking_id']}"
            BOOKINGS_FORWARDED.labels(str(response.status_code)).inc()
            return _copy_headers(response, jsonify(payload)), response.status_code
    BOOKINGS_FORWARDED.labels(str(response.status_code)).inc()
    return relay(response)


@bp.get("/bookings/<booking_id>")
def get_booking(booking_id: str):
    require_id(booking_id, "booking_id", message="booking not found")
    return relay(upstream("bookings").call("GET", f"/bookings/{booking_id}"))


# --- users --------------------------------------------------------------------------------------

@bp.post("/users")
def create_user():
    body = json_body_bytes()
    headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
    return relay(upstream("users").call("POST", "/users", data=body, headers=headers))


@bp.get("/users/<user_id>")
def get_user(user_id: str):
    require_id(user_id, "user_id", message="user not found")
    return relay(upstream("users").call("GET", f"/users/{user_id}"))


# --- uploads and tickets ------------------------------------------------------------------------

def _form_id(name: str, pattern, required: bool) -> str | None:
    value = (request.form.get(name) or "").strip()
    if not value:
        if required:
            raise ApiError(f"{name} is required", name)
        return None
    if not pattern.match(value):
        raise ApiError(f"{name} is not valid", name)
    return value


def _resolve_booking(booking_id: str, user_id: str | None, event_id: str | None) -> dict:
    """Booking details from the booking service when it is configured (then it must confirm them)."""
    bookings = upstream("bookings")
    if not bookings.configured:
        return {"verified": False, "user_id": user_id, "event_id": event_id}
    response = bookings.call("GET", f"/bookings/{booking_id}")
    if response.status_code in (400, 404):  # booking-service answers 400 for ids it could never have issued
        raise ApiError("booking not found", "booking_id", 404)
    if response.status_code != 200:
        return relay(response)  # type: ignore[return-value]
    booking = bookings.json_or_error(response)
    if not isinstance(booking, dict):
        raise ApiError("booking-service answered an unexpected body", None, 502, upstream="booking-service")
    if booking.get("status") == "rejected":
        raise ApiError("booking was rejected; no ticket can be issued", "booking_id", 409)
    booked_user = str(booking.get("user_id")) if booking.get("user_id") is not None else None
    booked_event = str(booking.get("event_id")) if booking.get("event_id") is not None else None
    if user_id and booked_user and user_id != booked_user:
        raise ApiError("user_id does not match the booking", "user_id", 422)
    if event_id and booked_event and event_id != booked_event:
        raise ApiError("event_id does not match the booking", "event_id", 422)
    return {"verified": True, "user_id": booked_user or user_id, "event_id": booked_event or event_id,
            "ticket_count": booking.get("ticket_count")}


def _event_details(event_id: str | None) -> dict:
    """Best effort: the event's name/date/venue for the ticket (never fails the upload)."""
    events = upstream("events")
    if not event_id or not events.configured:
        return {}
    try:
        response = events.call("GET", f"/events/{event_id}", timeout=(0.5, 2.0))
        event = response.json() if response.status_code == 200 else {}
    except (ApiError, ValueError):
        return {}
    return event if isinstance(event, dict) else {}


@bp.post("/upload")
def upload():
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    if request.mimetype != "multipart/form-data":
        raise ApiError("Content-Type must be multipart/form-data", "body", 415)
    booking_id = _form_id("booking_id", SAFE_ID, required=True)
    user_id = _form_id("user_id", SAFE_ID, required=False)
    event_id = _form_id("event_id", POSITIVE_INT, required=False)
    file = request.files.get("file")
    if file is None or not file.filename:
        raise ApiError("file is required", "file")
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        raise ApiError(f"file larger than {limit} bytes", "file", 413)
    if not data:
        raise ApiError("file is empty", "file")
    name = file.filename.lower()
    for magic, content_type, extensions in ALLOWED_UPLOADS:
        if data.startswith(magic):
            if not name.endswith(extensions):
                raise ApiError(f"file content is {content_type} but the name does not say so", "file", 415)
            extension = extensions[0]
            break
    else:
        raise ApiError("file must be a PDF, PNG or JPEG", "file", 415)

    booking = _resolve_booking(booking_id, user_id, event_id)
    if isinstance(booking, Response):
        return booking
    event = _event_details(booking.get("event_id"))
    metadata = {
        "booking-id": booking_id,
        "user-id": booking.get("user_id"),
        "event-id": booking.get("event_id"),
        "event-name": event.get("name"),
        "event-date": event.get("date"),
        "venue": event.get("venue"),
        "ticket-count": booking.get("ticket_count"),
        "booking-verified": "true" if booking["verified"] else "false",
        "original-filename": file.filename[:200],
        "request-id": get_request_id(),  # the Lambda logs it: `sandbox trace` joins the two
    }
    # S3 metadata is ASCII: values are percent-encoded UTF-8 (the ticket Lambda decodes them)
    metadata = {k: quote(str(v), safe=" ") for k, v in metadata.items() if v is not None and v != ""}
    key = f"uploads/{booking_id}/{uuid.uuid4().hex}{extension}"
    raw_bucket().put_upload(key, data, content_type, metadata)
    g.log_extra = {"booking_id": booking_id, "upload_key": key}  # on the access line
    UPLOADS.inc()
    return jsonify({"upload_key": key, "booking_id": booking_id, "verified": booking["verified"],
                    "content_type": content_type, "bytes": len(data),
                    "ticket_url": f"/api/tickets/{booking_id}"}), 201


@bp.get("/tickets/<booking_id>")
def get_ticket(booking_id: str):
    require_id(booking_id, "booking_id", message="ticket not found")
    ticket = raw_bucket().open_ticket(booking_id)
    if ticket is None:
        raise ApiError("ticket not found (not generated yet?)", "booking_id", 404)
    body = ticket["Body"]
    headers = {"Content-Disposition": f'attachment; filename="ticket-{booking_id}.pdf"',
               "Cache-Control": "no-store"}
    if ticket.get("ContentLength") is not None:
        headers["Content-Length"] = str(ticket["ContentLength"])

    def chunks():
        try:
            yield from body.iter_chunks(64 * 1024)
        finally:
            body.close()
    return Response(stream_with_context(chunks()), content_type="application/pdf", headers=headers)


# --- analytics ----------------------------------------------------------------------------------

@bp.get("/analytics")
def analytics():
    analytics = current_app.extensions["analytics"]
    analytics.ensure_started()
    event_id = request.args.get("event_id")
    if event_id is not None and not POSITIVE_INT.match(event_id):
        raise ApiError("event_id must be a positive integer", "event_id")
    events = analytics.store.snapshot(int(event_id) if event_id else None)
    return jsonify({"events": events, "consumer": analytics.status()})


@bp.errorhandler(413)
def _too_large(error):
    field = "file" if request.endpoint == "api.upload" else "body"
    return jsonify(error_body("request body too large", field)), 413
