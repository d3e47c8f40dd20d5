"""Settings, read only from environment variables (names as in DESIGN.md)."""
from __future__ import annotations

import os
from dataclasses import dataclass


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, str(default)))


@dataclass(frozen=True)
class Settings:
    event_service_url: str
    booking_service_url: str
    user_service_url: str
    raw_data_bucket: str
    kafka_brokers: str
    analytics_topic: str = "analytics-results"
    analytics_windows_per_event: int = 30
    max_upload_bytes: int = 5 * 1024 * 1024
    max_json_bytes: int = 64 * 1024
    upstream_connect_timeout: float = 1.0
    upstream_read_timeout: float = 5.0
    log_level: str = "INFO"

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        return cls(
            event_service_url=env("EVENT_SERVICE_URL", "").rstrip("/"),
            booking_service_url=env("BOOKING_SERVICE_URL", "").rstrip("/"),
            user_service_url=env("USER_SERVICE_URL", "").rstrip("/"),
            raw_data_bucket=env("RAW_DATA_BUCKET", ""),
            kafka_brokers=env("KAFKA_BROKERS", ""),
            analytics_topic=env("ANALYTICS_TOPIC", "analytics-results"),
            analytics_windows_per_event=int(env("ANALYTICS_WINDOWS_PER_EVENT", "30")),
            max_upload_bytes=int(env("MAX_UPLOAD_BYTES", str(5 * 1024 * 1024))),
            max_json_bytes=int(env("MAX_JSON_BYTES", str(64 * 1024))),
            upstream_connect_timeout=_float("UPSTREAM_CONNECT_TIMEOUT", 1.0),
            upstream_read_timeout=_float("UPSTREAM_READ_TIMEOUT", 5.0),
            log_level=env("LOG_LEVEL", "INFO"),
        )
