"""Configuration, only from environment variables."""
from __future__ import annotations

import os

from svc_common.db import database_url_from_env


def from_env() -> dict:
    return {
        "DATABASE_URL": database_url_from_env(),
        "KAFKA_BROKERS": os.environ.get("KAFKA_BROKERS"),
        "BOOKINGS_TOPIC": os.environ.get("BOOKINGS_TOPIC", "ticket-bookings"),
        "DELIVERY_TIMEOUT_MS": int(os.environ.get("KAFKA_DELIVERY_TIMEOUT_MS", "5000")),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_BODY_BYTES", "4096")),
        "DB_POOL_SIZE": int(os.environ.get("DB_POOL_SIZE", "16")),
        "DB_POOL_PRE_PING": os.environ.get("DB_POOL_PRE_PING", "false").lower() in ("1", "true", "yes"),
    }
