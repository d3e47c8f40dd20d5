"""Every error answer is JSON ``{"error": message, "field": name or null, ...extra}``.

``field`` names the offending input so clients (and the scenario suites) can tell which one; an
unexpected exception is logged with its traceback and answered 500 without it.
"""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Answered with ``status``; ``extra`` adds fields to the body (e.g. ``retryable=True``)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
        self.extra = extra


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify({"error": exc.message, "field": exc.field, **exc.extra}), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 413:
            response = jsonify({"error": "request body too large", "field": "body"})
        else:
            response = jsonify({"error": exc.description or exc.name, "field": None})
        response.status_code = exc.code or 500
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify({"error": "internal error", "field": None}), 500


def register_database_error_handler(app: Flask) -> None:
    """Database down or restarting -> 503 JSON (retryable), not a bare 500. For the Postgres services."""
    # imported here: the services without a database do not install SQLAlchemy
    from sqlalchemy.exc import DBAPIError, OperationalError

    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError):
        if not exc.connection_invalidated and not isinstance(exc, OperationalError):
            log.exception("database error")
            return jsonify({"error": "internal error", "field": None}), 500
        log.warning("database unavailable", extra={"error": str(exc.orig)[:200]})
        return jsonify({"error": "database unavailable, retry", "field": None, "retryable": True}), 503
