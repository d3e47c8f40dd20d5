"""One idempotent Kafka producer per process; ``publish`` blocks until the broker acknowledged.

``acks=all`` and ``enable.idempotence=true`` are explicit. A background thread serves
delivery callbacks, so concurrent request threads share one producer and its batching.
Created lazily in the serving process (after any fork), never inherited.

``health`` is the broker's last known state (``svc_common.readiness.Dependency``): down as soon
as librdkafka reports every broker down or a delivery times out; up again when a delivery or the
metadata check (the topic with a leader for every partition, at most every second, in the
background) succeeds. The booking route refuses at once while it is down instead of making
every request wait ``delivery.timeout.ms`` for a broker that is known to be gone.
"""
from __future__ import annotations

import os
import threading

from confluent_kafka import KafkaError, KafkaException, Producer

from svc_common.readiness import Dependency


class PublishError(RuntimeError):
    pass


class _Delivery:
    __slots__ = ("done", "error", "partition", "offset")

    def __init__(self):
        self.done = threading.Event()
        self.error = None
        self.partition = self.offset = None

    def __call__(self, err, msg):
        self.error = err
        if err is None:  # where the broker put it: `sandbox trace` follows a booking by it
            self.partition, self.offset = msg.partition(), msg.offset()
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
            # back within a second of a broker's restart (librdkafka's default backs off to 10 s)
            "reconnect.backoff.max.ms": 1000,
            "error_cb": self._on_error,
            **(extra or {}),
        }
        self.health = Dependency("kafka", self.check, ttl_s=1.0)
        self._producer: Producer | None = None
        self._pid = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poll_thread: threading.Thread | None = None

    def _get(self) -> Producer:
        if self._producer is None or self._pid != os.getpid():
            with self._lock:
                if self._producer is None or self._pid != os.getpid():
                    self._producer = Producer(self.conf)
                    self._pid = os.getpid()
                    self._stop = threading.Event()
                    self._poll_thread = threading.Thread(target=self._poll_loop, args=(self._producer, self._stop),
                                                         name="kafka-delivery", daemon=True)
                    self._poll_thread.start()
        return self._producer

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self.health.report(err.str())

    def running(self) -> bool:
        """The producer of this process exists and its delivery thread runs (creating them if not)."""
        self._get()
        return self._poll_thread is not None and self._poll_thread.is_alive()

    @staticmethod
    def _poll_loop(producer: Producer, stop: threading.Event) -> None:
        while not stop.is_set():
            producer.poll(0.05)

    def publish(self, key: str, value: bytes, headers: list[tuple[str, bytes]] | None = None) -> tuple[int, int]:
        """Send and wait for the broker's acknowledgement; return the message's (partition, offset)."""
        delivery = _Delivery()
        try:
            self._get().produce(self.topic, key=key.encode(), value=value, headers=headers, on_delivery=delivery)
        except (BufferError, KafkaException) as exc:
            raise PublishError(f"could not enqueue: {exc}") from exc
        if not delivery.done.wait(self.timeout_s):
            self.health.report("no delivery report in time")
            raise PublishError("no delivery report in time")
        if delivery.error is not None:
            if delivery.error.code() == KafkaError._MSG_TIMED_OUT:
                self.health.report(delivery.error.str())
            raise PublishError(str(delivery.error))
        self.health.report()
        return delivery.partition, delivery.offset

    def check(self, timeout_s: float = 1.0) -> None:
        """Raise unless the topic is known to the broker with a leader for every partition."""
        md = self._get().list_topics(topic=self.topic, timeout=timeout_s)
        t = md.topics.get(self.topic)
        if t is None or t.error is not None:
            raise RuntimeError(f"topic {self.topic} unavailable{f': {t.error}' if t is not None else ''}")
        if not t.partitions or any(p.leader < 0 for p in t.partitions.values()):
            raise RuntimeError(f"topic {self.topic} has a partition without a leader")

    def close(self, timeout_s: float = 5.0) -> None:
        if self._producer is not None and self._pid == os.getpid():
            self._producer.flush(timeout_s)
            self._stop.set()
