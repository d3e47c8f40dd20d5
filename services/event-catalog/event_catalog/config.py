"""Configuration, only from environment variables."""
from __future__ import annotations

import os

from svc_common.db import database_url_from_env

SQLITE_FALLBACK = "sqlite:///event_catalog.db"


def from_env() -> dict:
    return {
        "DATABASE_URL": database_url_from_env() or os.environ.get("EVENT_CATALOG_SQLITE_URL", SQLITE_FALLBACK),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_BODY_BYTES", "4096")),
        "DB_POOL_SIZE": int(os.environ.get("DB_POOL_SIZE", "5")),
        # how old a kept page may be when it is served while the database is down (last_good.py)
        "EVENTS_STALE_IF_ERROR_S": float(os.environ.get("EVENTS_STALE_IF_ERROR_S", "300")),
    }
