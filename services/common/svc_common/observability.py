"""Request ids, JSON logs, JSON errors and Prometheus metrics for one Flask app.

Every service folder is self-contained (its own image and requirements), so each carries
its own copy of this small module instead of importing a shared package.

- Request id: taken from the ``X-Request-ID`` header when it looks sane, generated otherwise,
  returned on the response and available to upstream calls via :func:`current_request_id`.
- Logs: one JSON object per line on stderr; each line carries the request id when there is one.
- Metrics: ``http_requests_total{service,method,route,status}`` and
  ``http_request_duration_seconds{service,method,route}`` (same names and labels as services/common). Each app gets its own registry (several apps
  can live in one test process). Under gunicorn with several workers set
  ``PROMETHEUS_MULTIPROC_DIR`` to an empty, writable directory so ``/metrics`` aggregates them.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, g, has_request_context, jsonify, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from werkzeug.exceptions import HTTPException

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ApiError(Exception):
    """An error answered as ``{"error": message, "field": field}`` with ``status``."""

    def __init__(self, status: int, message: str, field: str | None = None, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.extra = extra

    def to_response(self):
        body = {"error": self.message, "field": self.field, **self.extra}
        return jsonify(body), self.status


def current_request_id() -> str | None:
    if has_request_context():
        return g.get("request_id")
    return None


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record of the process as JSON lines to stderr (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_json_service_handler", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler._json_service_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "s3transfer", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)  # upstream failures are answered and logged by the app


class Metrics:
    """The app's Prometheus metrics, in a registry of its own."""

    def __init__(self, service: str):
        self.service = service
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "http_requests_total", "HTTP requests by route and status",
            ["service", "method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds", "HTTP request latency by route",
            ["service", "method", "route"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )

    def counter(self, name: str, documentation: str, labels=()) -> Counter:
        return Counter(name, documentation, list(labels), registry=self.registry)

    def render(self) -> tuple[bytes, str]:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def init_observability(app: Flask, service: str) -> Metrics:
    """Wire request ids, access logs, metrics and JSON error bodies into ``app``."""
    metrics = Metrics(service)
    app.extensions["metrics"] = metrics
    access_log = logging.getLogger(f"{service}.access")

    @app.before_request
    def _start_request():
        g.started = time.perf_counter()
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def _finish_request(response):
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        metrics.requests.labels(service, request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(service, request.method, route).observe(elapsed)
        if g.get("request_id"):
            response.headers[REQUEST_ID_HEADER] = g.request_id
        if route not in _QUIET_ROUTES:
            access_log.info("request", extra={"request_id": g.get("request_id"), "fields": {
                "method": request.method, "route": route, "path": request.path,
                "status": response.status_code, "duration_ms": round(elapsed * 1000, 3),
            }})
        return response

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError):
        return error.to_response()

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        field = "body" if error.code == 413 else None
        body = {"error": error.description or error.name, "field": field}
        response = jsonify(body)
        response.status_code = error.code or 500
        if error.code == 405 and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        logging.getLogger(service).exception("unhandled error")
        return jsonify({"error": "internal error", "field": None}), 500

    return metrics


def read_json_object(max_bytes: int | None = None) -> dict:
    """The request body as a JSON object, or an :class:`ApiError` naming ``body``."""
    if max_bytes is not None and request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, f"request body larger than {max_bytes} bytes", "body")
    if not request.is_json:
        raise ApiError(415, "Content-Type must be application/json", "body")
    payload = request.get_json(silent=True)
    if payload is None:
        raise ApiError(400, "request body is not valid JSON", "body")
    if not isinstance(payload, dict):
        raise ApiError(400, "request body must be a JSON object", "body")
    return payload
