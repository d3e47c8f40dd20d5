"""Pure parsing/validation of request input (raises ApiError naming the field)."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import date, datetime

from svc_common.errors import ApiError
from svc_common.text import storable_text, unstorable_reason

MAX_CAPACITY = 1_000_000
MAX_DATE = 40  # the column's length
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def parse_event_id(raw: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError("event_id must be a positive integer", "event_id", 400) from None
    if value < 1 or value > 2**31 - 1:
        raise ApiError("event_id must be a positive integer", "event_id", 400)
    return value


def _text(body: dict, field: str, max_len: int = 200) -> str:
    return storable_text(body.get(field), field, max_len)


def _date(body: dict) -> str:
    value = storable_text(body.get("date"), "date", MAX_DATE)
    try:
        parsed = date.fromisoformat(value).isoformat() if len(value) == 10 else datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise ApiError("date must be YYYY-MM-DD or an ISO 8601 datetime", "date") from None
    if len(parsed) > MAX_DATE:  # e.g. an offset with seconds and microseconds: longer than the column
        raise ApiError(f"date must be at most {MAX_DATE} characters as ISO 8601", "date")
    return parsed


def parse_list_query(args) -> dict:
    """GET /events query: ``limit`` (1..MAX_LIMIT, default DEFAULT_LIMIT), ``cursor`` (opaque, from a
    previous page's Link header), ``name`` (case-insensitive substring filter)."""
    raw_limit = args.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ApiError(f"limit must be an integer between 1 and {MAX_LIMIT}", "limit")
        limit = int(raw_limit)
    name = storable_text(args.get("name"), "name", 200, required=False)
    raw_cursor = args.get("cursor")
    after = decode_cursor(raw_cursor) if raw_cursor else None
    return {"limit": limit, "name": name, "after": after}


def encode_cursor(key: tuple[str, int]) -> str:
    """The position after the event with this (date, id): opaque to clients (base64url JSON)."""
    raw = json.dumps([key[0], key[1]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        if len(cursor) > 200 or not cursor.isascii():
            raise ValueError
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        when, event_id = value
        if not isinstance(when, str) or unstorable_reason(when) or len(when) > MAX_DATE:
            raise ValueError
        if isinstance(event_id, bool) or not isinstance(event_id, int) or not 0 <= event_id <= 2**31 - 1:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError("cursor is not one this service issued (take it from the Link header)", "cursor") from None
    return when, event_id


def parse_new_event(body) -> dict:
    if not isinstance(body, dict):
        raise ApiError("request body must be a JSON object", "body")
    capacity = body.get("capacity")
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise ApiError("capacity is required and must be an integer", "capacity")
    if capacity < 1 or capacity > MAX_CAPACITY:
        raise ApiError(f"capacity must be between 1 and {MAX_CAPACITY}", "capacity")
    return {
        "name": _text(body, "name"),
        "date": _date(body),
        "venue": _text(body, "venue"),
        "capacity": capacity,
    }
