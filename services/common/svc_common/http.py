"""Flask wiring shared by the HTTP services: request id, access log, Prometheus metrics.

``init_app(app, service)`` installs before/after hooks and a ``/metrics`` route. A view can add
fields to its one access-log line with ``g.log_extra`` (one line per request, not two).
Metrics: ``http_requests_total{service,method,route,status}`` and
``http_request_duration_seconds{service,method,route}``. With several worker
processes set ``PROMETHEUS_MULTIPROC_DIR`` (an empty writable dir) so /metrics
aggregates all of them (the metrics are counters and histograms only: no live gauges to clean up).
"""
from __future__ import annotations

import logging
import os
import time

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY

from .logs import REQUEST_ID_HEADER, clean_request_id, reset_request_id, set_request_id

access_log = logging.getLogger("access")

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def metrics_payload() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def init_app(app: Flask, service: str) -> None:
    @app.before_request
    def _start():
        g.request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER))
        g._rid_token = set_request_id(g.request_id)
        g._t0 = time.perf_counter()

    @app.after_request
    def _finish(response):
        elapsed = time.perf_counter() - getattr(g, "_t0", time.perf_counter())
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        HTTP_REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        HTTP_LATENCY.labels(service, request.method, route).observe(elapsed)
        response.headers[REQUEST_ID_HEADER] = getattr(g, "request_id", "")
        if route not in ("/health", "/metrics"):
            access_log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 2),
                    **g.get("log_extra", {}),
                },
            )
        return response

    @app.teardown_request
    def _reset(_exc):
        token = g.pop("_rid_token", None)
        if token is not None:
            reset_request_id(token)

    @app.get("/metrics")
    def _metrics():
        return Response(metrics_payload(), mimetype=CONTENT_TYPE_LATEST)
