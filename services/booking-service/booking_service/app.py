"""``create_app(config=None)``: the booking service Flask app."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import create_engine

from svc_common.errors import register_database_error_handler
from svc_common.http import init_app as init_http
from svc_common.logs import configure_logging
from svc_common.readiness import Dependency

from . import config as config_mod
from .claims import ClaimWriter
from .models import EventDirectory, check
from .producer import BookingPublisher
from .routes import bookings_bp, health_bp

SERVICE = "booking-service"


def create_app(config: dict | None = None) -> Flask:
    configure_logging(SERVICE)
    app = Flask(__name__)
    app.config.update(config_mod.from_env())
    if config:
        app.config.update(config)
    app.json.sort_keys = False
    url = app.config["DATABASE_URL"]
    if not url or not url.startswith("postgresql"):
        raise RuntimeError("booking-service needs Postgres: set DATABASE_URL or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD")
    if not app.config["KAFKA_BROKERS"]:
        raise RuntimeError("booking-service needs KAFKA_BROKERS")
    pool = app.config["DB_POOL_SIZE"]
    # No pre-ping (it costs a round trip per checkout): after a database restart the stale pool is
    # invalidated on the first disconnect error, which is answered 503 (retryable).
    # a bounded connect: a database that does not answer fails the request in 2 s (503), not in minutes
    engine = create_engine(url, pool_size=pool, max_overflow=pool, pool_pre_ping=app.config["DB_POOL_PRE_PING"],
                           connect_args={"connect_timeout": 2})
    app.extensions["booking_service.engine"] = engine
    app.extensions["booking_service.postgres"] = Dependency("postgres", lambda: check(engine))
    app.extensions["booking_service.events"] = EventDirectory(engine)
    app.extensions["booking_service.claims"] = ClaimWriter(url)
    app.extensions["booking_service.publisher"] = BookingPublisher(
        app.config["KAFKA_BROKERS"], app.config["BOOKINGS_TOPIC"], app.config["DELIVERY_TIMEOUT_MS"]
    )
    init_http(app, SERVICE)
    register_database_error_handler(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(bookings_bp)
    return app
