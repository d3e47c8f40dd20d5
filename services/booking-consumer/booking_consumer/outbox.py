"""Transactional outbox relay: publishes ``booking_status_outbox`` rows, then marks them sent.

Rows are written in the same transaction as the booking decision, so a crash between the
DB commit and the Kafka send loses nothing: the relay (re)sends every row whose
``sent_at`` is NULL. Delivery is at-least-once (a crash after the send but before marking
repeats the send); ``booking-status`` readers dedupe by ``booking_id``.
"""
from __future__ import annotations

import json
import logging
import threading

from confluent_kafka import Producer
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from .metrics import OUTBOX_ERRORS, OUTBOX_PUBLISHED
from .models import outbox

log = logging.getLogger(__name__)


def relay_once(engine: Engine, producer: Producer, topic: str, limit: int = 500, timeout_s: float = 10.0) -> int:
    """Publish up to ``limit`` unsent rows for ``topic``; return how many were sent and marked."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.payload, outbox.c.request_id)
            .where(outbox.c.sent_at.is_(None), outbox.c.topic == topic)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return 0
        failures: list[str] = []

        def on_delivery(err, _msg):
            if err is not None:
                failures.append(str(err))

        for r in rows:
            headers = [("x-request-id", r.request_id.encode())] if r.request_id else None
            producer.produce(
                r.topic,
                key=r.key.encode() if r.key else None,
                value=json.dumps(r.payload, separators=(",", ":")).encode(),
                headers=headers,
                on_delivery=on_delivery,
            )
        remaining = producer.flush(timeout_s)
        if remaining or failures:
            raise RuntimeError(f"outbox send failed: {remaining} undelivered, errors={failures[:3]}")
        conn.execute(update(outbox).where(outbox.c.id.in_([r.id for r in rows])).values(sent_at=_now()))
    OUTBOX_PUBLISHED.inc(len(rows))
    return len(rows)


def _now():
    from sqlalchemy import func

    return func.now()


class OutboxRelay(threading.Thread):
    def __init__(self, engine: Engine, producer: Producer, topic: str, limit: int = 500, interval_s: float = 0.5):
        super().__init__(name="outbox-relay", daemon=True)
        self.engine, self.producer, self.topic = engine, producer, topic
        self.limit, self.interval_s = limit, interval_s
        self.wake = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            self.wake.wait(self.interval_s)
            self.wake.clear()
            try:
                while relay_once(self.engine, self.producer, self.topic, self.limit) == self.limit:
                    pass
            except Exception as exc:  # noqa: BLE001 - keep relaying after transient failures
                OUTBOX_ERRORS.inc()
                log.warning("outbox relay failed; will retry", extra={"error": str(exc).splitlines()[0]})
                self.stopping.wait(1.0)

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
