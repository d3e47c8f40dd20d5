"""frontend: the web page and the API gateway (``/api/*``).

Run: ``python -m svc_common.serve frontend.app:create_app`` (svc_common and frontend installed: ``make venv``).
"""
from __future__ import annotations

from flask import Flask

from svc_common.errors import register_aws_error_handler
from svc_common.http import init_app as init_http
from svc_common.logs import configure_logging
from svc_common.readiness import Dependency

from .analytics import Analytics
from .config import Settings
from .storage import RawDataBucket
from .upstream import Upstream

SERVICE = "frontend"


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` may override any setting by its env name (e.g. ``BOOKING_SERVICE_URL``)."""
    settings = Settings.from_env()
    app = Flask(__package__)
    app.config.update(
        EVENT_SERVICE_URL=settings.event_service_url,
        BOOKING_SERVICE_URL=settings.booking_service_url,
        USER_SERVICE_URL=settings.user_service_url,
        RAW_DATA_BUCKET=settings.raw_data_bucket,
        KAFKA_BROKERS=settings.kafka_brokers,
        ANALYTICS_TOPIC=settings.analytics_topic,
        ANALYTICS_WINDOWS_PER_EVENT=settings.analytics_windows_per_event,
        MAX_UPLOAD_BYTES=settings.max_upload_bytes,
        MAX_JSON_BYTES=settings.max_json_bytes,
        UPSTREAM_CONNECT_TIMEOUT=settings.upstream_connect_timeout,
        UPSTREAM_READ_TIMEOUT=settings.upstream_read_timeout,
    )
    app.config.update(config or {})
    # multipart overhead on top of the file; JSON routes enforce MAX_JSON_BYTES themselves
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_UPLOAD_BYTES"] + 64 * 1024

    configure_logging(SERVICE, settings.log_level)
    init_http(app, SERVICE)
    register_aws_error_handler(app, "S3")

    timeouts = (app.config["UPSTREAM_CONNECT_TIMEOUT"], app.config["UPSTREAM_READ_TIMEOUT"])
    app.extensions["upstreams"] = {
        "events": Upstream("event-catalog", app.config["EVENT_SERVICE_URL"], *timeouts),
        "bookings": Upstream("booking-service", app.config["BOOKING_SERVICE_URL"], *timeouts),
        "users": Upstream("user-service", app.config["USER_SERVICE_URL"], *timeouts),
    }
    app.extensions["bucket"] = RawDataBucket(app.config["RAW_DATA_BUCKET"])
    app.extensions["analytics"] = Analytics(
        app.config["KAFKA_BROKERS"], app.config["ANALYTICS_TOPIC"], app.config["ANALYTICS_WINDOWS_PER_EVENT"])
    # reported by /ready, never decisive (health.py)
    app.extensions["dependencies"] = [
        *(Dependency(u.name, u.check_health) for u in app.extensions["upstreams"].values()),
        Dependency("s3", app.extensions["bucket"].ping),
    ]

    from . import api, health, web
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(web.bp)
    return app
