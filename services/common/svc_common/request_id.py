"""The request id of the work in progress, kept in a context variable.

A context variable (not Flask's ``g``) so that code outside a request sees it too: the JSON log
formatter, the frontend's upstream calls, booking-service's Kafka headers and the booking
consumer, which sets it per message from the ``x-request-id`` Kafka header.
"""
from __future__ import annotations

import contextvars
import re
import uuid

REQUEST_ID_HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def clean_request_id(value: str | None) -> str:
    """``value`` when it is a sane id, else a fresh one (a raw header never reaches the logs)."""
    if value and _SANE.fullmatch(value):
        return value
    return uuid.uuid4().hex


def get_request_id() -> str | None:
    return _current.get()


def set_request_id(value: str | None) -> contextvars.Token:
    return _current.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    _current.reset(token)
