"""``create_app(config=None)``: the event catalog Flask app."""
from __future__ import annotations

from flask import Flask

from svc_common.errors import register_error_handlers
from svc_common.http import init_app as init_http
from svc_common.logs import configure_logging

from . import config as config_mod
from .db import make_engine
from .routes import events_bp, health_bp

SERVICE = "event-catalog"


def create_app(config: dict | None = None) -> Flask:
    configure_logging(SERVICE)
    app = Flask(__name__)
    app.config.update(config_mod.from_env())
    if config:
        app.config.update(config)
    app.json.sort_keys = False
    app.extensions["event_catalog.engine"] = make_engine(app.config["DATABASE_URL"], app.config["DB_POOL_SIZE"])
    init_http(app, SERVICE)
    register_error_handlers(app)
    _register_db_unavailable(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(events_bp)
    return app


def _register_db_unavailable(app: Flask) -> None:
    """Database down or restarting -> 503 JSON (retryable), not a bare 500."""
    import logging

    from flask import jsonify
    from sqlalchemy.exc import DBAPIError, OperationalError

    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError):
        if not exc.connection_invalidated and not isinstance(exc, OperationalError):
            logging.getLogger(__name__).exception("database error")
            return jsonify({"error": "internal error", "field": None}), 500
        logging.getLogger(__name__).warning("database unavailable", extra={"error": str(exc.orig)[:200]})
        return jsonify({"error": "database unavailable, retry", "field": None, "retryable": True}), 503
