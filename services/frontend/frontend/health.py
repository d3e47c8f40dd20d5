"""Liveness and readiness; /metrics is svc_common's.

The frontend replica can serve as soon as its app is built: the page and static files come from
the process, and each API route answers on its own — with its upstream's answer, or 502/503/504
JSON (retryable) when that upstream or the bucket is down, so the page keeps working and
``GET /api/events`` keeps answering while Kafka or Postgres is down. Hence ``/ready`` is 200
whenever this process answers; the upstreams (their ``/health`` through the gateway), the
raw-data bucket and the analytics consumer are reported in its body, checked at most every 2 s in
the background with short timeouts (``svc_common.readiness``), never decisive.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from svc_common.readiness import OK, readiness

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    return jsonify({"status": "ok"})


@bp.get("/ready")
def ready():
    body, status = readiness({"app": OK}, current_app.extensions["dependencies"])
    body["analytics"] = current_app.extensions["analytics"].status()
    return jsonify(body), status
