"""Fault-test machinery: a bounded stream of bookings, status evidence, and the queue check."""

from __future__ import annotations

import json
import threading
import time
import uuid
from contextlib import suppress

import requests

from sandbox.poll import until
from scenarios.lib.checkers import QueueResult, check_queue, error_shape_problem, unseen
from scenarios.lib.clients import Api, BookingAttempt, answer_record


class BookingStream:
    """``workers`` threads each booking with fresh Idempotency-Keys until stopped or ``max_n``
    attempts in total; 503/502/504 and connection errors are retried with the same key."""

    def __init__(self, endpoints: dict, event_id: int, tag: str, workers: int = 4, max_n: int = 600,
                 pace_s: float = 0.02) -> None:
        self.endpoints, self.event_id, self.tag = endpoints, event_id, tag
        self.workers, self.max_n, self.pace_s = workers, max_n, pace_s
        self.attempts: list[BookingAttempt] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _run(self, n: int) -> None:
        api = Api(self.endpoints, timeout=6)
        i = 0
        while not self._stop.is_set():
            with self._lock:
                if len(self.attempts) >= self.max_n:
                    return
            body = {"event_id": self.event_id, "user_id": f"{self.tag}-w{n}-{i}", "ticket_count": 1 + i % 3}
            attempt = api.book(body, key=f"{self.tag}-{uuid.uuid4().hex}", tries=120, deadline_s=45, backoff=0.25)
            with self._lock:
                self.attempts.append(attempt)
            i += 1
            time.sleep(self.pace_s)

    def start(self) -> BookingStream:
        self._threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.workers)]
        for t in self._threads:
            t.start()
        return self

    def stop(self, join_s: float = 60) -> None:
        self._stop.set()
        deadline = time.monotonic() + join_s
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def accepted_ids(self) -> set[str]:
        with self._lock:
            return {a.booking_id for a in self.attempts if a.accepted}

    def as_checker_input(self) -> list[dict]:
        with self._lock:
            return [{"booking_id": a.booking_id, "accepted": a.accepted, "booking_ids": sorted(a.ids)}
                    for a in self.attempts]


class ReadProbe:
    """One thread reading ``paths`` through the gateway in turn every ``interval_s`` (bounded by
    ``max_n``), keeping every answer with its time: the read-only side of the system during a fault
    (the issue's "GET /api/events and the page keep working")."""

    def __init__(self, endpoints: dict, paths: tuple[str, ...] = ("/api/events", "/"), interval_s: float = 0.1,
                 max_n: int = 3000, timeout_s: float = 10) -> None:
        self.endpoints, self.paths, self.interval_s, self.max_n = endpoints, paths, interval_s, max_n
        self.timeout_s = timeout_s
        self.answers: list[dict] = []  # {"path", "at" (monotonic), "status" (-1: no answer), "seconds", ...}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        api = Api(self.endpoints, timeout=self.timeout_s)
        for i in range(self.max_n):
            path = self.paths[i % len(self.paths)]
            started = time.monotonic()
            try:
                r = api.get(path)
                answer = answer_record(r, time.monotonic() - started)
                if r.status_code < 300:
                    answer["body"] = None  # only failures are kept whole
                    answer["stale"] = "Cache-Status" in r.headers  # a page kept from before an outage
            except requests.RequestException as exc:
                answer = {"status": -1, "content_type": "", "body": type(exc).__name__,
                          "seconds": round(time.monotonic() - started, 3)}
            self.answers.append({"path": path, "at": started, **answer})
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> ReadProbe:
        self._thread.start()
        return self

    def stop(self) -> list[dict]:
        self._stop.set()
        self._thread.join(self.timeout_s + 5)
        return list(self.answers)


def answers_summary(answers: list[dict], since: float | None = None, until_t: float | None = None) -> dict:
    """Per path: how many answers of each status (between ``since`` and ``until_t``), how many of
    them were stale copies, and the slowest."""
    out: dict[str, dict] = {}
    for a in answers:
        if (since is not None and a["at"] < since) or (until_t is not None and a["at"] > until_t):
            continue
        row = out.setdefault(a["path"], {"n": 0, "statuses": {}, "stale": 0, "max_s": 0.0})
        row["n"] += 1
        row["stale"] += bool(a.get("stale"))
        row["statuses"][str(a["status"])] = row["statuses"].get(str(a["status"]), 0) + 1
        row["max_s"] = max(row["max_s"], a["seconds"])
    return out


def error_shape_problems(answers: list[dict]) -> list[str]:
    """Every non-2xx answer that is not of the one error shape (and every request left unanswered)."""
    problems = []
    for a in answers:
        if a["status"] == -1:
            problems.append(f"no answer in time ({a['body']})")
        elif a["status"] >= 300 and (problem := error_shape_problem(a["status"], a["content_type"], a["body"])):
            problems.append(problem)
    return problems


class UnseenSampler:
    """Samples 'accepted but not yet in `bookings`' every 0.5 s while the fault runs (bounded)."""

    def __init__(self, db, event_id: int, stream: BookingStream, max_samples: int = 600) -> None:
        self.db, self.event_id, self.stream, self.max_samples = db, event_id, stream, max_samples
        self.series: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for _ in range(self.max_samples):
            if self._stop.wait(0.5):
                return
            accepted = self.stream.accepted_ids()
            try:
                observed = {r[0] for r in self.db.bookings_for_event(self.event_id)}
            except Exception:  # database down: the sample is simply missing
                continue
            self.series.append(unseen(accepted, observed))

    def start(self) -> UnseenSampler:
        self._thread.start()
        return self

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join(10)
        return list(self.series)


def wait_dead(target, component: str, deadline_s: float = 15) -> dict:
    """Poll status until it reports ``component`` unhealthy; return the evidence."""
    snap = None

    def dead() -> bool:
        nonlocal snap
        snap = target.status()
        return not (snap.ok or snap.healthy(component))

    with suppress(TimeoutError):  # the evidence shows it still healthy
        until(dead, timeout=deadline_s, what=f"{component} unhealthy in status", interval=0.2)
    return {"status_ok": snap.ok, "component_healthy": snap.healthy(component),
            "state": snap.rows.get(component, {}).get("state"), "health": snap.rows.get(component, {}).get("health")}


def settle(db, event_id: int, accepted: set[str], deadline_s: float = 60) -> list[int]:
    """Poll `bookings` until every accepted id is recorded (bounded); the unseen count over time."""
    import psycopg

    series: list[int] = []

    def recorded() -> bool:
        observed = {r[0] for r in db.bookings_for_event(event_id)}
        series.append(unseen(accepted, observed))
        return series[-1] == 0

    with suppress(TimeoutError):  # the series shows what was still unseen
        until(recorded, timeout=deadline_s, what="every accepted booking in `bookings`", interval=0.5,
              not_yet=(psycopg.OperationalError,))  # database still coming back
    return series


def status_messages(kafka, before: dict[int, int], event_id: int) -> list[dict]:
    after = kafka.end_offsets("booking-status")
    out = []
    for m in kafka.read_range("booking-status", before, after):
        try:
            value = json.loads(m["value"])
        except (TypeError, ValueError):
            continue
        if value.get("event_id") == event_id:
            out.append(value)
    return out


def final_check(db, kafka, stream: BookingStream, event_id: int, status_before: dict[int, int],
                series_during: list[int], status_deadline_s: float = 20) -> QueueResult:
    accepted = stream.accepted_ids()
    series = series_during + settle(db, event_id, accepted)
    rows = db.bookings_for_event(event_id)
    # every recorded decision must reach `booking-status` (outbox relay, at-least-once): poll, bounded
    messages: list[dict] = []
    unpublished: set[str] = set()

    def published() -> bool:
        nonlocal messages, unpublished
        messages = status_messages(kafka, status_before, event_id)
        unpublished = {r[0] for r in rows} - {m["booking_id"] for m in messages}
        return not unpublished

    with suppress(TimeoutError):  # the result counts what is still unpublished
        until(published, timeout=status_deadline_s, what="every decision on `booking-status`", interval=1.0)
    capacity, available = db.event(event_id)
    result = check_queue(stream.as_checker_input(), rows, capacity, available, messages, series)
    result.details["status_unpublished"] = len(unpublished)
    result.details["status_messages"] = len(messages)
    return result
