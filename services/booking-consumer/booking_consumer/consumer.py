"""The consume loop: batch -> one DB transaction -> commit offsets (only after the DB commit)."""
from __future__ import annotations

import logging
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from sqlalchemy.engine import Engine

from svc_common.request_id import reset_request_id, set_request_id

from . import metrics as m
from .config import Config
from .models import record_batch_with_retry
from .reservation import CONFIRMED, BookingRequest, InvalidMessage, parse_booking

log = logging.getLogger(__name__)
IDLE_WAIT_S = 1.0  # the longest an idle loop blocks: stop() and the liveness check see it within this


def consumer_conf(cfg: Config) -> dict:
    return {
        "bootstrap.servers": cfg.kafka_brokers,
        "group.id": cfg.group_id,
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        # the broker answers as soon as a booking is there, else after 500 ms: an idle replica
        # costs the broker 2 fetches a second (64 KiB / 25 ms was 40, ~6 % of a core for two
        # replicas); under load the batch is gathered here (batch_timeout_s), not at the broker
        "fetch.min.bytes": 1,
        "fetch.wait.max.ms": 500,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 2000,
        **cfg.extra_kafka,
    }


def producer_conf(cfg: Config) -> dict:
    return {
        "bootstrap.servers": cfg.kafka_brokers,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "delivery.timeout.ms": 10000,
        **cfg.extra_kafka,
    }


def _request_id(msg: Message) -> str | None:
    for k, v in msg.headers() or []:
        if k.lower() == "x-request-id" and v:
            return v.decode(errors="replace")[:128]
    return None


class BookingConsumer:
    def __init__(self, cfg: Config, engine: Engine, on_committed=None):
        self.cfg = cfg
        self.engine = engine
        self.on_committed = on_committed or (lambda: None)
        self.consumer = Consumer(consumer_conf(cfg))
        self.dlq = Producer(producer_conf(cfg))
        self.stopping = threading.Event()
        self.last_loop = time.monotonic()
        self.processed = 0

    def run(self) -> None:
        self.consumer.subscribe([self.cfg.bookings_topic])
        log.info("consuming", extra={"topic": self.cfg.bookings_topic, "group": self.cfg.group_id})
        busy = False
        try:
            while not self.stopping.is_set():
                self.last_loop = time.monotonic()
                msgs = self.next_batch(busy)
                busy = bool(msgs)
                if msgs:
                    self.handle(msgs)
        finally:
            self.consumer.close()
            self.dlq.flush(10)

    def next_batch(self, busy: bool) -> list[Message]:
        """Up to ``batch_max`` messages, gathered for at most ``batch_timeout_s`` once the first is
        there. While idle the loop waits for that first one (``IDLE_WAIT_S``, returning as soon as
        it comes) instead of waking every ``batch_timeout_s``: 1 wake-up a second, not 50."""
        if busy:
            return self.consumer.consume(self.cfg.batch_max, self.cfg.batch_timeout_s)
        first = self.consumer.consume(1, IDLE_WAIT_S)
        if not first or self.cfg.batch_max == 1:
            return first
        return first + self.consumer.consume(self.cfg.batch_max - 1, self.cfg.batch_timeout_s)

    def stop(self) -> None:
        self.stopping.set()

    def handle(self, msgs: list[Message]) -> None:
        batch: list[BookingRequest] = []
        bad: list[tuple[Message, str]] = []
        first: dict[tuple[str, int], int] = {}
        last: dict[tuple[str, int], int] = {}
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                if err.fatal():
                    raise KafkaException(err)
                log.warning("consume error", extra={"error": str(err)})
                continue
            tp = (msg.topic(), msg.partition())
            first.setdefault(tp, msg.offset())
            last[tp] = msg.offset()
            try:
                batch.append(parse_booking(msg.value(), _request_id(msg)))
            except InvalidMessage as exc:
                bad.append((msg, str(exc)))
        if not last:
            return
        m.BATCH_SIZE.observe(len(msgs))
        try:
            self._to_dlq(bad)
            t0 = time.perf_counter()
            decisions = record_batch_with_retry(self.engine, batch, self.cfg.status_topic)
            m.BATCH_SECONDS.observe(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - nothing committed: rewind and retry later
            log.error("batch failed; rewinding", extra={"error": str(exc).splitlines()[0]})
            for (topic, part), off in first.items():
                try:
                    self.consumer.seek(TopicPartition(topic, part, off))
                except KafkaException as seek_exc:  # partition revoked meanwhile: new owner re-reads
                    log.warning("seek failed", extra={"error": str(seek_exc)})
            self.stopping.wait(1.0)
            return
        self._account(batch, decisions, first, last)
        self.on_committed()
        offsets = [TopicPartition(t, p, off + 1) for (t, p), off in last.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
            m.LAST_COMMIT.set_to_current_time()
        except KafkaException as exc:
            # DB already committed: a redelivery is skipped by booking_id, so this is safe.
            log.warning("offset commit failed (redelivery will be deduplicated)", extra={"error": str(exc)})
        self.processed += len(msgs)

    def _to_dlq(self, bad: list[tuple[Message, str]]) -> None:
        if not bad:
            return
        failures: list[str] = []
        for msg, reason in bad:
            headers = list(msg.headers() or []) + [
                ("dlq-reason", reason.encode()),
                ("dlq-source", f"{msg.topic()}/{msg.partition()}/{msg.offset()}".encode()),
            ]
            self.dlq.produce(
                self.cfg.dlq_topic, key=msg.key(), value=msg.value(), headers=headers,
                on_delivery=lambda err, _m: failures.append(str(err)) if err else None,
            )
            log.warning("message to DLQ", extra={"reason": reason, "partition": msg.partition(), "offset": msg.offset()})
        if self.dlq.flush(10) or failures:
            raise RuntimeError(f"DLQ send failed: {failures[:3]}")
        m.BOOKINGS_DLQ.inc(len(bad))

    def _account(self, batch: list[BookingRequest], decisions, first: dict, last: dict) -> None:
        now = time.time()
        m.BOOKINGS_DUPLICATE.inc(len(batch) - len(decisions))
        debug = log.isEnabledFor(logging.DEBUG)
        for d in decisions:
            if d.status == CONFIRMED:
                m.BOOKINGS_CONFIRMED.inc()
            else:
                m.BOOKINGS_REJECTED.labels(d.reason).inc()
            m.CONFIRM_LATENCY.observe(max(0.0, now - d.booking.timestamp))
            if debug:  # per booking only at DEBUG: at INFO the batch line below names them all
                token = set_request_id(d.booking.request_id)
                try:
                    log.debug("booking decided", extra={"booking_id": d.booking.booking_id, "status": d.status,
                                                        "reason": d.reason})
                finally:
                    reset_request_id(token)
        if decisions:
            log.info("batch committed", extra=batch_fields(batch, decisions, first, last))


def batch_fields(batch: list[BookingRequest], decisions, first: dict, last: dict) -> dict:
    """The fields of the one INFO line per committed batch. It names the bookings it recorded and
    where they were read (``offsets``: ``partition:first-last`` per partition), so `sandbox trace`
    finds a booking's decision from this line instead of a line per booking. Both are flat strings
    (space-separated), which every log pipeline keeps as one field; a join is the whole cost."""
    return {"messages": len(batch), "decided": len(decisions),
            "confirmed": sum(d.status == CONFIRMED for d in decisions),
            "topic": next(iter(last))[0],
            "offsets": " ".join(f"{p}:{first[(t, p)]}-{o}" for (t, p), o in sorted(last.items())),
            "booking_ids": " ".join(d.booking.booking_id for d in decisions)}
