"""Helpers shared by the analytics job tests (a uniquely named module, so that running
``pytest tests flink/tests`` together never imports another folder's helpers)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest

# 2026-11-25T14:00:00Z
BASE = 1_795_615_200


def read_json_lines(folder: Path) -> list[dict]:
    """All JSON records in the part files a filesystem sink wrote under ``folder``."""
    rows = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


# ---------------------------------------------------------------- Kafka (confluent-kafka)


def brokers_or_skip() -> str:
    """KAFKA_BROKERS if it is set and a broker answers there, else skip the test."""
    brokers = os.environ.get("KAFKA_BROKERS", "").strip()
    if not brokers:
        pytest.skip("KAFKA_BROKERS is not set")
    from confluent_kafka.admin import AdminClient

    try:
        AdminClient({"bootstrap.servers": brokers}).list_topics(timeout=5)
    except Exception as exc:  # KafkaException on timeout
        pytest.skip(f"no Kafka broker reachable at {brokers}: {exc}")
    return brokers


def create_topics(brokers: str, names_partitions: dict[str, int]) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": brokers})
    futures = admin.create_topics(
        [NewTopic(n, num_partitions=p, replication_factor=1) for n, p in names_partitions.items()]
    )
    for f in futures.values():
        f.result(timeout=30)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def produce(brokers: str, topic: str, records: list[tuple[int, str | bytes]]) -> None:
    """records: (partition, payload) in the order they must be written."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": brokers, "enable.idempotence": True})
    for partition, payload in records:
        p.produce(topic, value=payload, partition=partition)
    assert p.flush(30) == 0


def consume_until(brokers: str, topic: str, done, timeout_s: float) -> list[dict]:
    """Read ``topic`` with isolation.level=read_committed until ``done(records)`` or timeout."""
    from confluent_kafka import Consumer

    c = Consumer({
        "bootstrap.servers": brokers,
        "group.id": unique("it-reader"),
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "enable.auto.commit": False,
    })
    c.subscribe([topic])
    records: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not done(records):
            msg = c.poll(0.5)
            if msg is None or msg.error():
                continue
            records.append(json.loads(msg.value()))
    finally:
        c.close()
    return records
