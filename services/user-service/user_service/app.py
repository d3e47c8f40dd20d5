"""user-service: register and look up users in DynamoDB.

Run: ``python -m svc_common.serve user_service.app:create_app`` from ``services/user-service``.
"""
from __future__ import annotations

from flask import Flask

from svc_common.errors import register_aws_error_handler
from svc_common.http import init_app as init_http
from svc_common.logs import configure_logging
from svc_common.readiness import Dependency

from .config import Settings
from .models import UserStore

SERVICE = "user-service"


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides: ``USERS_TABLE``, ``MAX_BODY_BYTES``, ``USER_STORE``."""
    settings = Settings.from_env()
    config = dict(config or {})
    app = Flask(__package__)
    app.config.update(
        USERS_TABLE=settings.users_table,
        MAX_BODY_BYTES=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
    )
    app.config.update({key: value for key, value in config.items() if key != "USER_STORE"})
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_BODY_BYTES"]

    configure_logging(SERVICE, settings.log_level)
    init_http(app, SERVICE)
    register_aws_error_handler(app, "DynamoDB")
    store = config.get("USER_STORE") or UserStore(app.config["USERS_TABLE"])
    app.extensions["user_store"] = store
    app.extensions["dynamodb"] = Dependency("dynamodb", store.ping)  # reported by /ready (health.py)

    from . import health, routes
    app.register_blueprint(health.bp)
    app.register_blueprint(routes.bp)
    return app
