"""Prometheus metrics: the HTTP metrics every service shares and the ``/metrics`` payload.

Metrics live in prometheus-client's default registry, declared once at import (a module-level
metric never collides when an app factory runs twice in one process). With several worker
processes set ``PROMETHEUS_MULTIPROC_DIR`` (an empty writable dir): ``metrics_payload()`` then adds
up every process's values. No Flask here: the booking consumer serves the same payload.
"""
from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

HTTP_REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def metrics_payload() -> bytes:
    """The text exposition of this process, or of all worker processes when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)
