"""Pure parsing/validation of request input (raises ApiError naming the field)."""
from __future__ import annotations

from datetime import date, datetime

from svc_common.errors import ApiError

MAX_CAPACITY = 1_000_000


def parse_event_id(raw: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError("event_id must be a positive integer", "event_id", 400) from None
    if value < 1 or value > 2**31 - 1:
        raise ApiError("event_id must be a positive integer", "event_id", 400)
    return value


def _text(body: dict, field: str, max_len: int = 200) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ApiError(f"{field} is required and must be a non-empty string", field)
    value = value.strip()
    if len(value) > max_len:
        raise ApiError(f"{field} must be at most {max_len} characters", field)
    return value


def _date(body: dict) -> str:
    value = body.get("date")
    if not isinstance(value, str) or not value.strip():
        raise ApiError("date is required (YYYY-MM-DD or ISO 8601 datetime)", "date")
    value = value.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value).isoformat()
        return datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise ApiError("date must be YYYY-MM-DD or an ISO 8601 datetime", "date") from None


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
