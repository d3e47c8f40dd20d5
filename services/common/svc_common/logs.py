"""JSON logging with a request id carried in a context variable.

The request id comes from the ``X-Request-ID`` header (generated when absent),
is echoed in the response, added to every log record and propagated to
downstream HTTP calls and Kafka message headers by the services.
"""
from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import uuid

from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: str | None) -> str:
    """Return ``value`` when it is a sane id, else a fresh one (never trust raw headers in logs)."""
    if value and _VALID_ID.match(value):
        return value
    return new_request_id()


def get_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> contextvars.Token:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _request_id.reset(token)


class _RequestIdFilter(logging.Filter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = get_request_id()
        record.service = self.service
        return True


def configure_logging(service: str, level: str | None = None) -> None:
    """Send JSON lines to stderr with timestamp, level, logger, service, request_id, message."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(service)s %(request_id)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_RequestIdFilter(service))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_svc_common", False):
            root.removeHandler(old)
    handler._svc_common = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("LOG_LEVEL", "INFO")).upper())
