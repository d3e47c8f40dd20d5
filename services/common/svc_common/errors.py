"""Every error answer is JSON of one shape: ``{"error": message, "field": name or null,
"retryable": bool}``, sometimes with context fields beside them (``booking_id``, ``upstream``).

``field`` names the offending input so clients (and the scenario suites) can tell which one;
``retryable`` says whether the same request may succeed later (a downstream down or slow: 502,
503, 504, also 408 and 429); an unexpected exception is logged with its traceback and answered 500
without it. The gateway's own answers (HAProxy's errorfiles, ``sandbox/components/gateway.py``)
have the same shape.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 502, 503, 504})


def error_body(message: str, field: str | None = None, retryable: bool = False, **extra) -> dict:
    """The one error shape, as a dict (for the few answers not raised as :class:`ApiError`)."""
    return {"error": message, "field": field, "retryable": retryable, **extra}


class ApiError(Exception):
    """Answered with ``status``; ``retryable`` defaults to what the status says (502/503/504, 408,
    429); ``extra`` adds context fields to the body (e.g. ``booking_id``)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400, *,
                 retryable: bool | None = None, **extra):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status
        self.retryable = status in RETRYABLE_STATUSES if retryable is None else retryable
        self.extra = extra


def register_error_handlers(app: Flask) -> None:
    from flask import jsonify  # here, not at import: the consumer uses error_body without Flask
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return jsonify(error_body(exc.message, exc.field, exc.retryable, **exc.extra)), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        code = exc.code or 500
        if code == 413:
            response = jsonify(error_body("request body too large", "body"))
        else:
            response = jsonify(error_body(exc.description or exc.name, None, code in RETRYABLE_STATUSES))
        response.status_code = code
        if code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return jsonify(error_body("internal error")), 500


def database_unavailable(exc: Exception) -> bool:
    """A database error that means "down or restarting" (retry later), not a bad statement."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    return isinstance(exc, DBAPIError) and (exc.connection_invalidated or isinstance(exc, OperationalError))


def register_database_error_handler(app: Flask) -> None:
    from flask import jsonify

    """Database down or restarting -> 503 JSON (retryable), not a bare 500. For the Postgres services."""
    # imported here: the services without a database do not install SQLAlchemy
    from sqlalchemy.exc import DBAPIError

    @app.errorhandler(DBAPIError)
    def _db_error(exc: DBAPIError):
        if not database_unavailable(exc):
            log.exception("database error")
            return jsonify(error_body("internal error")), 500
        log.warning("database unavailable", extra={"error": str(exc.orig)[:200]})
        return jsonify(error_body("database unavailable, retry", retryable=True)), 503


def aws_unavailable(exc: Exception) -> bool:
    """An AWS call that failed for the endpoint's sake (unreachable, timed out, its 5xx or
    throttling, the table or bucket missing), not for the request's."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as AwsConnectionError

    if isinstance(exc, AwsConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        code = exc.response.get("Error", {}).get("Code", "")
        return status >= 500 or code in ("ResourceNotFoundException", "NoSuchBucket", "ThrottlingException",
                                          "ProvisionedThroughputExceededException", "RequestLimitExceeded")
    return False


def register_aws_error_handler(app: Flask, what: str) -> None:
    from flask import jsonify

    """AWS endpoint down or failing -> 503 JSON (retryable) naming ``what`` (e.g. "DynamoDB").
    For the services on boto3; other AWS errors stay unexpected (500)."""
    from botocore.exceptions import BotoCoreError, ClientError

    @app.errorhandler(BotoCoreError)
    @app.errorhandler(ClientError)
    def _aws_error(exc: Exception):
        if not aws_unavailable(exc):
            log.exception("AWS error")
            return jsonify(error_body("internal error")), 500
        log.warning(f"{what} unavailable", extra={"error": str(exc)[:200]})
        return jsonify(error_body(f"{what} unavailable, retry", retryable=True)), 503
