"""JSON error bodies: ``{"error": "<message>", "field": "<name or null>"}``."""
from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as JSON with ``status``; ``field`` names the offending input."""

    def __init__(self, message: str, field: str | None = None, status: int = 400, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
        self.extra = extra

    def body(self) -> dict:
        return {"error": self.message, "field": self.field, **self.extra}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(exc.body()), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        field = "body" if exc.code == 413 else None
        message = "request body too large" if exc.code == 413 else (exc.description or exc.name)
        return jsonify({"error": message, "field": field}), exc.code

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify({"error": "internal error", "field": None}), 500
