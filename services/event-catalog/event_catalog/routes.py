"""HTTP: parse requests, call models, shape responses."""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import DBAPIError

from svc_common.errors import ApiError, database_unavailable
from svc_common.readiness import OK, readiness

from . import models
from .validation import encode_cursor, parse_event_id, parse_list_query, parse_new_event

events_bp = Blueprint("events", __name__)
health_bp = Blueprint("health", __name__)


def _engine():
    return current_app.extensions["event_catalog.engine"]


def _page_link(query: dict, after, rel: str) -> str:
    """A Link header entry: a query-only reference, so it resolves against the URL the client asked
    (here ``/events``, through the gateway ``/api/events``) and stays right behind any prefix."""
    params = {k: v for k, v in query.items() if v is not None}
    if after:
        params["cursor"] = encode_cursor(after)
    return f'<?{urlencode(params)}>; rel="{rel}"'


@events_bp.get("/events")
def list_events():
    """One page (``limit``, default 50, at most 200) as a JSON array, as before; the next and
    previous pages are in the ``Link`` header (rel="next"/"prev"), which carries the filter on.
    While the database is down, the last page answered for the same query (at most
    EVENTS_STALE_IF_ERROR_S old) is answered instead, said by ``Age`` and ``Cache-Status``."""
    q = parse_list_query(request.args)
    key = (q["limit"], q["after"], q["name"])  # last_good.FIRST_PAGE for the plain list
    last_good = current_app.extensions["event_catalog.last_good"]
    stale_s = None
    try:
        page = models.list_events(_engine(), q["limit"], q["after"], q["name"])
    except DBAPIError as exc:
        kept = last_good.get(key) if database_unavailable(exc) else None
        if kept is None:
            raise  # 503 retryable (svc_common) when the database is down, else 500
        page, stale_s = kept
    else:
        last_good.put(key, page)
    response = jsonify(page.events)
    if stale_s is not None:
        response.headers["Age"] = str(int(stale_s))
        response.headers["Cache-Status"] = 'event-catalog; hit; detail="stale: database unavailable"'
    carried = {"name": q["name"], "limit": request.args.get("limit") and q["limit"]}
    links = []
    if page.next_after:
        links.append(_page_link(carried, page.next_after, "next"))
    if page.prev_after is not None:
        links.append(_page_link(carried, page.prev_after, "prev"))
    if links:
        response.headers["Link"] = ", ".join(links)
    return response


@events_bp.get("/events/<raw_id>")
def get_event(raw_id: str):
    event_id = parse_event_id(raw_id)
    event = models.get_event(_engine(), event_id)
    if event is None:
        raise ApiError(f"event {event_id} not found", "event_id", 404)
    return jsonify(event)


@events_bp.post("/events")
def create_event():
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError("request body must be JSON (Content-Type: application/json)", "body", 400)
    fields = parse_new_event(body)
    event = models.create_event(_engine(), **fields)
    return jsonify(event), 201, {"Location": f"/events/{event['id']}"}


@events_bp.delete("/events/<raw_id>")
def delete_event(raw_id: str):
    """Only an event nobody booked (tests clean up with it): 204; booked -> 409; unknown -> 404."""
    event_id = parse_event_id(raw_id)
    outcome = models.delete_event(_engine(), event_id)
    if outcome == "missing":
        raise ApiError(f"event {event_id} not found", "event_id", 404)
    if outcome == "booked":
        raise ApiError(f"event {event_id} has bookings and is kept", "event_id", 409)
    return "", 204


@health_bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@health_bp.get("/ready")
def ready():
    """Ready when the app is built, its database pool with it: this replica can answer on its own.
    The database is reported, not decisive: while it is down every replica stays in the balancer,
    answers ``GET /events`` from its last good pages (``last_good.py``) and everything else with
    503 ``retryable``, instead of all of them leaving it (HAProxy's "no ready replica")."""
    body, status = readiness({"app": OK}, [current_app.extensions["event_catalog.database"]])
    return jsonify(body), status
