"""Thin clients the scenarios use: the public HTTP API, Postgres (read-only checks) and Kafka.

Every loop here is bounded in attempts and in time; all addresses come from the target's endpoints.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import requests

from sandbox.poll import until

RETRYABLE = {502, 503, 504}


@dataclass
class BookingAttempt:
    """One logical booking: one Idempotency-Key, possibly several HTTP tries."""

    key: str
    body: dict
    statuses: list[int] = field(default_factory=list)
    booking_id: str | None = None     # from a 202, or from a retryable 503 body
    response: dict | None = None
    ids: set = field(default_factory=set)  # every booking id the service named for this key
    failures: list[dict] = field(default_factory=list)  # every non-2xx answer: status, content_type, body, seconds

    @property
    def accepted(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == 202


def answer_record(r: requests.Response, seconds: float) -> dict:
    """What a scenario keeps of an answer: status, content type, body (parsed JSON, else text), time."""
    try:
        body = r.json()
    except ValueError:
        body = r.text[:200]
    return {"status": r.status_code, "content_type": r.headers.get("Content-Type", ""), "body": body,
            "seconds": round(seconds, 3)}


class Api:
    """The frontend gateway (FRONTEND_URL) plus event-catalog's POST /events for test fixtures."""

    def __init__(self, endpoints: dict[str, str], timeout: float = 10) -> None:
        self.base = endpoints["FRONTEND_URL"].rstrip("/")
        self.catalog = endpoints["EVENT_SERVICE_URL"].rstrip("/")
        self.booking = endpoints["BOOKING_SERVICE_URL"].rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only: never through a proxy

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(self.base + path, timeout=self.timeout, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.session.post(self.base + path, timeout=self.timeout, **kw)

    def create_event(self, capacity: int, name: str) -> dict:
        r = self.session.post(f"{self.catalog}/events", timeout=self.timeout, json={
            "name": name, "date": "2027-06-01", "venue": "Scenario Hall", "capacity": capacity})
        assert r.status_code == 201, (r.status_code, r.text)
        return r.json()

    def list_events(self, **params) -> requests.Response:
        """GET /api/events with ``limit``/``cursor``/``name``: one page, the others in its Link header."""
        return self.get("/api/events", params=params)

    def book_like_the_seed(self, body: dict) -> requests.Response:
        """The seed's load-test request: POST /api/book with the body only (no Idempotency-Key), once."""
        return self.session.post(self.base + "/api/book", json=body, timeout=self.timeout)

    def book(self, body: dict, key: str | None = None, tries: int = 30, deadline_s: float = 60,
             backoff: float = 0.25) -> BookingAttempt:
        """POST /api/book; retry 502/503/504 and connection errors with the *same* key (the
        documented contract), at most ``tries`` times within ``deadline_s``."""
        attempt = BookingAttempt(key or str(uuid.uuid4()), body)
        stop = time.monotonic() + deadline_s
        for _ in range(tries):
            try:
                started = time.monotonic()
                r = self.session.post(self.base + "/api/book", json=body, timeout=self.timeout,
                                      headers={"Idempotency-Key": attempt.key})
                attempt.statuses.append(r.status_code)
                try:
                    attempt.response = r.json()
                except ValueError:
                    attempt.response = None
                if r.status_code >= 300:
                    attempt.failures.append(answer_record(r, time.monotonic() - started))
                if isinstance(attempt.response, dict) and attempt.response.get("booking_id"):
                    attempt.booking_id = attempt.response["booking_id"]
                    attempt.ids.add(attempt.booking_id)
                if r.status_code not in RETRYABLE:
                    return attempt
            except requests.RequestException:
                attempt.statuses.append(-1)
            if time.monotonic() + backoff > stop:
                break
            time.sleep(backoff)
        return attempt

    def booking_status(self, booking_id: str) -> dict | None:
        r = self.get(f"/api/bookings/{booking_id}")
        return r.json() if r.status_code == 200 else None

    def wait_final(self, booking_id: str, deadline_s: float = 30) -> dict | None:
        def final() -> dict | None:
            status = self.booking_status(booking_id)
            return status if status and status.get("status") in ("confirmed", "rejected") else None

        try:
            return until(final, timeout=deadline_s, what=f"booking {booking_id} decided", interval=0.2)
        except TimeoutError:
            return None


class Db:
    """Read-only checks on the booking tables (DATABASE_URL)."""

    def __init__(self, endpoints: dict[str, str]) -> None:
        self.url = endpoints["DATABASE_URL"]

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()

    def bookings_for_event(self, event_id: int) -> list[tuple]:
        """(booking_id, user_id, ticket_count, status, reason) for one event."""
        return self.query("SELECT booking_id::text, user_id, ticket_count, status, reason FROM bookings "
                          "WHERE event_id = %s", (event_id,))

    def event(self, event_id: int) -> tuple[int, int]:
        """(capacity, tickets_available)."""
        return self.query("SELECT capacity, tickets_available FROM events WHERE id = %s", (event_id,))[0]


class Kafka:
    def __init__(self, endpoints: dict[str, str]) -> None:
        self.brokers = endpoints["KAFKA_BROKERS"]

    def consumer(self, **extra):
        from confluent_kafka import Consumer

        return Consumer({"bootstrap.servers": self.brokers, "group.id": f"scenario-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", **extra})

    def end_offsets(self, topic: str) -> dict[int, int]:
        from confluent_kafka import TopicPartition

        c = self.consumer()
        try:
            parts = c.list_topics(topic, timeout=10).topics[topic].partitions
            return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts}
        finally:
            c.close()

    def offset_ranges(self, topic: str) -> dict[int, tuple[int, int]]:
        """partition -> (log start offset, end offset)."""
        from confluent_kafka import TopicPartition

        c = self.consumer()
        try:
            parts = c.list_topics(topic, timeout=10).topics[topic].partitions
            return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in parts}
        finally:
            c.close()

    def read_range(self, topic: str, start: dict[int, int], end: dict[int, int], deadline_s: float = 20,
                   **extra) -> list[dict]:
        """Every message of ``topic`` between two offset maps: [{partition, offset, key, value}]."""
        from confluent_kafka import TopicPartition

        want = {p: end[p] for p in end if end[p] > start.get(p, 0)}
        if not want:
            return []
        c = self.consumer(**extra)
        out: list[dict] = []
        try:
            c.assign([TopicPartition(topic, p, start.get(p, 0)) for p in want])
            stop = time.monotonic() + deadline_s
            done: set[int] = set()
            while len(done) < len(want) and time.monotonic() < stop:
                msg = c.poll(0.5)
                if msg is None or msg.error():
                    continue
                p = msg.partition()
                if msg.offset() < want[p]:
                    out.append({"partition": p, "offset": msg.offset(), "key": msg.key(), "value": msg.value()})
                if msg.offset() + 1 >= want[p]:
                    done.add(p)
        finally:
            c.close()
        return out

    def produce(self, topic: str, records: list[tuple[bytes | None, dict]]) -> None:
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": self.brokers, "acks": "all", "enable.idempotence": True})
        errors: list = []
        for key, value in records:
            p.produce(topic, key=key, value=json.dumps(value).encode(),
                      on_delivery=lambda err, msg: err and errors.append(err))
        remaining = p.flush(30)
        assert remaining == 0 and not errors, f"produce failed: {remaining} undelivered, {errors[:3]}"


class AnalyticsReader:
    """Reads `analytics-results` with read_committed from the beginning, keeping the latest record
    per (event_id, window_end) for the events asked for (a long-lived consumer, polled incrementally)."""

    def __init__(self, kafka: Kafka, event_ids: set[int], topic: str = "analytics-results") -> None:
        self.event_ids = set(event_ids)
        self.windows: dict[tuple[int, str], dict] = {}
        self.history: dict[tuple[int, str], list[tuple[int, int]]] = {}  # every value seen per window
        self.raw_count = 0
        self._c = kafka.consumer(**{"isolation.level": "read_committed"})
        self._c.subscribe([topic])

    def poll(self, seconds: float) -> None:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            msg = self._c.poll(0.3)
            if msg is None or msg.error():
                continue
            try:
                value = json.loads(msg.value())
            except (TypeError, ValueError):
                continue
            if isinstance(value, dict) and value.get("event_id") in self.event_ids:
                self.raw_count += 1
                key = (value["event_id"], value["window_end"])
                self.windows[key] = value
                self.history.setdefault(key, []).append((value.get("total_tickets"), value.get("booking_count")))

    def wait_for(self, expected: dict[tuple[int, str], int], deadline_s: float) -> None:
        """Poll until every expected (event_id, window_end) key is present (or the deadline)."""
        stop = time.monotonic() + deadline_s
        while time.monotonic() < stop and not all(k in self.windows for k in expected):
            self.poll(0.3)
        self.poll(1.5)  # a little longer: a wrong duplicate would show up here

    def close(self) -> None:
        self._c.close()
