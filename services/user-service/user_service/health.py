"""Liveness and readiness; /metrics is svc_common's.

A user-service replica can serve once its app and DynamoDB client are built: ``/ready`` is 200
then. DynamoDB (the users table answering DescribeTable) is reported in the body, checked at most
every 2 s in the background with one short attempt (``svc_common.readiness``), never decisive:
while it is down the replicas stay in the balancer and answer ``/users`` with 503 ``retryable``
(``svc_common.errors.register_aws_error_handler``), as every service answers for a downstream.
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
    body, status = readiness({"app": OK}, [current_app.extensions["dynamodb"]])
    return jsonify(body), status
