"""``init_app(app, service)``: the observability every Flask service gets in one call.

- request id: the ``X-Request-ID`` header when sane, generated otherwise; set for the request
  (``svc_common.request_id``) and echoed on the response;
- one JSON access-log line per request (none for the probes and ``/metrics``); a view adds fields
  to it with ``g.log_extra`` rather than logging a second line;
- ``http_requests_total`` / ``http_request_duration_seconds`` and the ``/metrics`` route;
- JSON error bodies (``svc_common.errors``);
- the service's OpenAPI document at ``/openapi.json`` and ``/docs`` (``svc_common.openapi``), when
  the service folder has an ``openapi.yaml``.
"""
from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST

from . import openapi
from .errors import register_error_handlers
from .metrics import HTTP_LATENCY, HTTP_REQUESTS, metrics_payload
from .request_id import REQUEST_ID_HEADER, clean_request_id, get_request_id, set_request_id

QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})


def init_app(app: Flask, service: str) -> None:
    access_log = logging.getLogger(f"{service}.access")

    @app.before_request
    def _start():
        set_request_id(clean_request_id(request.headers.get(REQUEST_ID_HEADER)))
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(service, request.method, route).observe(elapsed)
        request_id = get_request_id()
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        if route not in QUIET_ROUTES:
            access_log.info("request", extra={
                "request_id": request_id, "method": request.method, "path": request.path, "route": route,
                "status": response.status_code, "duration_ms": round(elapsed * 1000, 2), **g.get("log_extra", {}),
            })
        return response

    @app.teardown_request
    def _forget_request_id(_exc):
        # cleared, not reset by token: a streamed response may tear down in another context
        set_request_id(None)

    initialised = []

    @app.get("/metrics")
    def _metrics():
        if not initialised:  # at the first scrape every route is registered
            _zero_latency_series(app, service)
            initialised.append(True)
        return Response(metrics_payload(), content_type=CONTENT_TYPE_LATEST)

    openapi.init_app(app)
    register_error_handlers(app)


def _zero_latency_series(app: Flask, service: str) -> None:
    """Every route's latency histogram at zero before its first request: a series born with its
    first observations has no earlier sample, so rate() and the dashboards' percentiles would
    miss the requests of its first scrape interval."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                HTTP_LATENCY.labels(service, method, rule.rule)
