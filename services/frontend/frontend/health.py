"""Liveness and readiness (upstreams' /health and the bucket reachable); /metrics is svc_common's."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify

from svc_common.errors import ApiError

bp = Blueprint("health", __name__)
log = logging.getLogger("frontend.ready")


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready():
    """Ready when every upstream answers /health and the raw-data bucket exists (analytics is informative only)."""
    checks: dict[str, str] = {}
    for upstream in current_app.extensions["upstreams"].values():
        label = upstream.name
        try:
            response = upstream.call("GET", "/health", timeout=(0.5, 1.0))
            checks[label] = "ok" if response.status_code == 200 else f"status {response.status_code}"
        except ApiError as error:
            checks[label] = error.message
    bucket = current_app.extensions["bucket"]
    if not bucket.bucket:
        checks["s3"] = "RAW_DATA_BUCKET is not set"
    else:
        try:
            bucket.ping()
            checks["s3"] = "ok"
        except Exception as error:
            checks["s3"] = str(error)
    ok = all(value == "ok" for value in checks.values())
    body = {"status": "ready" if ok else "unavailable", "checks": checks,
            "analytics": current_app.extensions["analytics"].status()}
    if not ok:
        log.warning("not ready", extra={"checks": checks})
    return jsonify(body), 200 if ok else 503

