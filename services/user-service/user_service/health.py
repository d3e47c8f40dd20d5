"""Liveness, readiness (DynamoDB table reachable) and Prometheus metrics."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)
log = logging.getLogger("user-service.ready")


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready():
    try:
        current_app.extensions["user_store"].ping()
    except Exception as error:  # any failure means "not ready"; say which dependency
        log.warning("not ready", extra={"fields": {"dependency": "dynamodb", "reason": str(error)}})
        return jsonify({"status": "unavailable", "checks": {"dynamodb": str(error)}}), 503
    return jsonify({"status": "ready", "checks": {"dynamodb": "ok"}})


@bp.get("/metrics")
def metrics():
    body, content_type = current_app.extensions["metrics"].render()
    return Response(body, content_type=content_type)
