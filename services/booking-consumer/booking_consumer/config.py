"""Configuration, only from environment variables."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from svc_common.db import database_url_from_env


@dataclass(frozen=True)
class Config:
    database_url: str
    kafka_brokers: str
    bookings_topic: str = "ticket-bookings"
    status_topic: str = "booking-status"
    dlq_topic: str = "ticket-bookings-dlq"
    group_id: str = "booking-consumer"
    host: str = "127.0.0.1"
    port: int = 8004
    batch_max: int = 500
    batch_timeout_s: float = 0.02
    outbox_batch: int = 500
    outbox_interval_s: float = 0.5
    extra_kafka: dict = field(default_factory=dict)


def from_env(env: dict | None = None) -> Config:
    env = os.environ if env is None else env
    url = database_url_from_env(env)
    if not url or not url.startswith("postgresql"):
        raise SystemExit("booking-consumer needs Postgres: set DATABASE_URL or DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD")
    brokers = env.get("KAFKA_BROKERS")
    if not brokers:
        raise SystemExit("booking-consumer needs KAFKA_BROKERS")
    return Config(
        database_url=url,
        kafka_brokers=brokers,
        bookings_topic=env.get("BOOKINGS_TOPIC", "ticket-bookings"),
        status_topic=env.get("BOOKING_STATUS_TOPIC", "booking-status"),
        dlq_topic=env.get("BOOKINGS_DLQ_TOPIC", "ticket-bookings-dlq"),
        group_id=env.get("CONSUMER_GROUP", "booking-consumer"),
        host=env.get("HOST", "127.0.0.1"),
        port=int(env.get("PORT", "8004")),
        batch_max=int(env.get("BATCH_MAX", "500")),
        batch_timeout_s=int(env.get("BATCH_TIMEOUT_MS", "20")) / 1000,
        outbox_batch=int(env.get("OUTBOX_BATCH", "500")),
        outbox_interval_s=int(env.get("OUTBOX_INTERVAL_MS", "500")) / 1000,
    )
