"""Storable text: the one check every service runs on text input before it reaches a store.

Postgres ``text``/``varchar`` cannot hold NUL (U+0000), and neither Postgres nor DynamoDB can hold
a lone UTF-16 surrogate (U+D800..U+DFFF: JSON's ``"\\ud800"`` decodes to one, and it has no UTF-8
encoding); a column or key also has a length limit. Any of these used to reach the database and
fail there (a 500, a 502 through the gateway, or a 503 for a whole group-committed batch).
:func:`storable_text` refuses them at the edge with the project's error shape: 400
``{"error": ..., "field": <the field>}``.
"""
from __future__ import annotations

import re

from .errors import ApiError

_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_reason(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (NUL, lone surrogate), or None."""
    if "\x00" in value:
        return "must not contain NUL (U+0000) characters"
    if _SURROGATE.search(value):
        return "must be valid Unicode text (it contains an unpaired surrogate)"
    return None


def storable_text(value, field: str, max_len: int, *, required: bool = True, strip: bool = True) -> str | None:
    """``value`` as text a database can store, or :class:`ApiError` (400) naming ``field``.

    A string (not a number or object), not blank when ``required`` (``None``/blank is returned as
    None when not), at most ``max_len`` characters, with no NUL and no lone surrogate; returned
    stripped unless ``strip=False`` (then as given, e.g. when it is hashed as sent)."""
    if value is None and not required:
        return None
    if value is None:
        raise ApiError(f"{field} is required", field)
    if not isinstance(value, str):
        raise ApiError(f"{field} must be a string", field)
    reason = unstorable_reason(value)
    if reason:
        raise ApiError(f"{field} {reason}", field)
    stripped = value.strip()
    if not stripped:
        if not required:
            return None
        raise ApiError(f"{field} must be a non-empty string", field)
    if strip:
        value = stripped
    if len(value) > max_len:
        raise ApiError(f"{field} must be at most {max_len} characters", field)
    return value
