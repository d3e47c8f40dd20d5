"""HTTP: parse requests, call models, shape responses."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text

from svc_common.errors import ApiError

from . import models
from .validation import parse_event_id, parse_new_event

events_bp = Blueprint("events", __name__)
health_bp = Blueprint("health", __name__)


def _engine():
    return current_app.extensions["event_catalog.engine"]


@events_bp.get("/events")
def list_events():
    return jsonify(models.list_events(_engine()))


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


@health_bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@health_bp.get("/ready")
def ready():
    try:
        with _engine().connect() as conn:
            conn.execute(text("SELECT 1 FROM events LIMIT 1"))
    except Exception as exc:  # noqa: BLE001 - report any dependency failure
        return jsonify({"status": "unavailable", "database": str(exc).splitlines()[0]}), 503
    return jsonify({"status": "ready", "database": "ok"})
