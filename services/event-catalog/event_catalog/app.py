"""``create_app(config=None)``: the event catalog Flask app."""
from __future__ import annotations

from flask import Flask

from svc_common.errors import register_database_error_handler
from svc_common.http import init_app as init_http
from svc_common.logs import configure_logging
from svc_common.readiness import Dependency

from . import config as config_mod
from .db import make_engine
from .last_good import LastGoodPages, keep_first_page
from .routes import events_bp, health_bp

SERVICE = "event-catalog"


def create_app(config: dict | None = None) -> Flask:
    configure_logging(SERVICE)
    app = Flask(__name__)
    app.config.update(config_mod.from_env())
    if config:
        app.config.update(config)
    app.json.sort_keys = False
    engine = make_engine(app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"])
    app.extensions["event_catalog.engine"] = engine
    last_good = app.extensions["event_catalog.last_good"] = LastGoodPages(app.config["EVENTS_STALE_IF_ERROR_S"])
    app.extensions["event_catalog.database"] = Dependency("database", lambda: keep_first_page(engine, last_good))
    init_http(app, SERVICE)
    register_database_error_handler(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(events_bp)
    return app
