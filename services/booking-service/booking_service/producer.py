"""One idempotent Kafka producer per process; ``publish`` blocks until the broker acknowledged.

``acks=all`` and ``enable.idempotence=true`` are explicit. A background thread serves
delivery callbacks, so concurrent request threads share one producer and its batching.
Created lazily in the serving process (after any fork), never inherited.
"""
from __future__ import annotations

import os
import threading

from confluent_kafka import KafkaException, Producer


class PublishError(RuntimeError):
    pass


class _Delivery:
    __slots__ = ("done", "error")

    def __init__(self):
        self.done = threading.Event()
        self.error = None

    def __call__(self, err, _msg):
        self.error = err
        self.done.set()


class BookingPublisher:
    def __init__(self, brokers: str, topic: str, delivery_timeout_ms: int = 5000, extra: dict | None = None):
        self.topic = topic
        self.timeout_s = delivery_timeout_ms / 1000 + 2.0
        self.conf = {
            "bootstrap.servers": brokers,
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": 1,  # concurrent requests share produce requests (broker CPU); each waits <= 1 ms
            "delivery.timeout.ms": delivery_timeout_ms,
            "request.timeout.ms": min(delivery_timeout_ms, 5000),
            "max.in.flight.requests.per.connection": 5,
            **(extra or {}),
        }
        self._producer: Producer | None = None
        self._pid = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def _get(self) -> Producer:
        if self._producer is None or self._pid != os.getpid():
            with self._lock:
                if self._producer is None or self._pid != os.getpid():
                    self._producer = Producer(self.conf)
                    self._pid = os.getpid()
                    self._stop = threading.Event()
                    threading.Thread(target=self._poll_loop, args=(self._producer, self._stop),
                                     name="kafka-delivery", daemon=True).start()
        return self._producer

    @staticmethod
    def _poll_loop(producer: Producer, stop: threading.Event) -> None:
        while not stop.is_set():
            producer.poll(0.05)

    def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> None:
        delivery = _Delivery()
        try:
            self._get().produce(self.topic, key=key.encode(), value=value, headers=headers, on_delivery=delivery)
        except (BufferError, KafkaException) as exc:
            raise PublishError(f"could not enqueue: {exc}") from exc
        if not delivery.done.wait(self.timeout_s):
            raise PublishError("no delivery report in time")
        if delivery.error is not None:
            raise PublishError(str(delivery.error))

    def topic_available(self, timeout_s: float = 2.0) -> str:
        try:
            md = self._get().list_topics(topic=self.topic, timeout=timeout_s)
        except KafkaException as exc:
            return str(exc)
        t = md.topics.get(self.topic)
        if t is None or t.error is not None:
            return f"topic {self.topic} unavailable"
        return "ok"

    def close(self, timeout_s: float = 5.0) -> None:
        if self._producer is not None and self._pid == os.getpid():
            self._producer.flush(timeout_s)
            self._stop.set()
