"""Liveness and readiness (DynamoDB table reachable); /metrics is svc_common's."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

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
        log.warning("not ready", extra={"dependency": "dynamodb", "reason": str(error)})
        return jsonify({"status": "unavailable", "checks": {"dynamodb": str(error)}}), 503
    return jsonify({"status": "ready", "checks": {"dynamodb": "ok"}})

