"""Live analytics: the latest window results per event, read from the ``analytics-results`` topic.

The Flink job writes one JSON record per (event, window); a record for the same
(event_id, window_end) may arrive again (at-least-once delivery, or a restarted job), so the store
keeps the latest record per key: deduplication, never summing. The consumer reads with
``isolation.level=read_committed`` so records of aborted Flink transactions are never shown.

Each frontend process keeps its own copy: the consumer uses a fresh consumer group per process,
reads the topic from the beginning and never commits offsets. It is started lazily, on the first
``/api/analytics`` request, inside the serving process (threads do not survive a fork).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import datetime

log = logging.getLogger("frontend.analytics")

REQUIRED = ("event_id", "window_start", "window_end", "total_tickets", "booking_count")


def parse_result(raw: bytes | str | dict) -> dict | None:
    """A validated, normalised window result, or None for a bad record."""
    try:
        record = raw if isinstance(raw, dict) else json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or any(key not in record for key in REQUIRED):
        return None
    try:
        event_id = int(record["event_id"])
        total = int(record["total_tickets"])
        count = int(record["booking_count"])
        window_start, window_end = str(record["window_start"]), str(record["window_end"])
        start = datetime.fromisoformat(window_start.replace("Z", "+00:00"))
        end = datetime.fromisoformat(window_end.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return None
    if isinstance(record["event_id"], bool) or total < 0 or count < 0 or end <= start:
        return None
    return {"event_id": event_id, "window_start": window_start, "window_end": window_end,
            "total_tickets": total, "booking_count": count, "_end": end.timestamp()}


class AnalyticsStore:
    """Latest result per (event_id, window_end), at most ``windows_per_event`` newest windows per event."""

    def __init__(self, windows_per_event: int = 30):
        self.windows_per_event = windows_per_event
        self._lock = threading.Lock()
        self._events: dict[int, dict[str, dict]] = {}
        self.applied = 0
        self.rejected = 0

    def apply(self, raw) -> bool:
        result = parse_result(raw)
        with self._lock:
            if result is None:
                self.rejected += 1
                return False
            windows = self._events.setdefault(result["event_id"], {})
            windows[result["window_end"]] = result  # same key again: the latest record wins
            if len(windows) > self.windows_per_event:
                oldest = sorted(windows.values(), key=lambda r: r["_end"])[: len(windows) - self.windows_per_event]
                for stale in oldest:
                    del windows[stale["window_end"]]
            self.applied += 1
            return True

    def snapshot(self, event_id: int | None = None) -> list[dict]:
        """Per event (ascending id): ``latest`` window and ``windows`` newest first."""
        with self._lock:
            items = sorted(self._events.items())
            out = []
            for eid, windows in items:
                if event_id is not None and eid != event_id:
                    continue
                ordered = sorted(windows.values(), key=lambda r: r["_end"], reverse=True)
                public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in ordered]
                out.append({"event_id": eid, "latest": public[0], "windows": public})
            return out


class AnalyticsConsumer(threading.Thread):
    """Background thread feeding an :class:`AnalyticsStore` from Kafka."""

    def __init__(self, brokers: str, topic: str, store: AnalyticsStore):
        super().__init__(name="analytics-consumer", daemon=True)
        self.brokers = brokers
        self.topic = topic
        self.store = store
        self.state = "starting"
        self.last_error: str | None = None
        self.messages = 0
        self._stop_event = threading.Event()

    def status(self) -> dict:
        return {"state": self.state, "topic": self.topic, "messages": self.messages,
                "applied": self.store.applied, "bad_records": self.store.rejected, "last_error": self.last_error}

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        from confluent_kafka import Consumer, KafkaError

        config = {
            "bootstrap.servers": self.brokers,
            "group.id": f"frontend-analytics-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "topic.metadata.refresh.interval.ms": 2000,
            "session.timeout.ms": 10000,
        }
        while not self._stop_event.is_set():
            consumer = None
            try:
                consumer = Consumer(config)
                consumer.subscribe([self.topic])
                self.state = "running"
                while not self._stop_event.is_set():
                    message = consumer.poll(0.5)
                    if message is None:
                        continue
                    if message.error():
                        code = message.error().code()
                        if code in (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART):
                            self.last_error = str(message.error())
                            continue
                        self.last_error = str(message.error())
                        log.warning("kafka error", extra={"reason": self.last_error})
                        continue
                    self.messages += 1
                    if not self.store.apply(message.value()):
                        log.warning("bad analytics record", extra={
                            "partition": message.partition(), "offset": message.offset()})
            except Exception as error:  # keep serving the last known results; retry the consumer
                self.state = "error"
                self.last_error = str(error)
                log.exception("analytics consumer failed; retrying")
                self._stop_event.wait(2.0)
            finally:
                if consumer is not None:
                    try:
                        consumer.close()
                    except Exception:
                        pass
        self.state = "stopped"


class Analytics:
    """The process's store and (lazily started) consumer."""

    def __init__(self, brokers: str, topic: str, windows_per_event: int):
        self.brokers = brokers
        self.topic = topic
        self.store = AnalyticsStore(windows_per_event)
        self._consumer: AnalyticsConsumer | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if not self.brokers:
            return
        if self._consumer is not None and self._pid == os.getpid() and self._consumer.is_alive():
            return
        with self._lock:
            if self._consumer is not None and self._pid == os.getpid() and self._consumer.is_alive():
                return
            if self._pid != os.getpid():  # forked: the parent's results and thread are not ours
                self.store = AnalyticsStore(self.store.windows_per_event)
            self._consumer = AnalyticsConsumer(self.brokers, self.topic, self.store)
            self._pid = os.getpid()
            self._consumer.start()

    def status(self) -> dict:
        if not self.brokers:
            return {"state": "disabled", "reason": "KAFKA_BROKERS is not set", "topic": self.topic}
        if self._consumer is None:
            return {"state": "not started", "topic": self.topic}
        return self._consumer.status()

    def stop(self, timeout: float = 5.0) -> None:
        if self._consumer is not None:
            self._consumer.stop()
            self._consumer.join(timeout)

    def wait_for(self, predicate, timeout: float = 10.0) -> bool:
        """Test helper: wait until ``predicate(snapshot)`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.store.snapshot()):
                return True
            time.sleep(0.1)
        return False
