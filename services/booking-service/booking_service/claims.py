"""Group commit for idempotency records: one Postgres transaction per batch of requests.

Each request thread hands its claim to one writer thread per process and waits; the writer takes
everything queued while the previous transaction ran and writes it with a single
``INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING``. At low load a batch is one
request (no added latency); under load the per-commit cost is shared, which is what lets one
worker process accept thousands of bookings per second.

"Published" marks (written after Kafka acknowledged the booking) ride along in the next batch;
the request waits for that commit too, so a 202 is always followed by a readable "pending".

One bad row never fails its batch: the routes validate every field before a claim is queued
(svc_common.text: no NUL, no lone surrogate, bounded length), and if the database still refuses a
batch for anything but a lost connection, each of its claims is written again on its own, so only
the refused one fails (``ClaimRejected``, answered 400); the others are answered as usual.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass, field

import psycopg
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

INSERT = """
INSERT INTO booking_requests
    (idempotency_key, request_hash, booking_id, event_id, user_id, ticket_count, requested_at, request_id)
SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::uuid[], %s::int[], %s::varchar[], %s::int[],
                     %s::float8[], %s::varchar[])
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING idempotency_key
"""
EXISTING = """
SELECT idempotency_key, request_hash, booking_id::text, event_id, user_id, ticket_count, requested_at,
       published_at IS NOT NULL
FROM booking_requests WHERE idempotency_key = ANY(%s)
"""
MARK = """
UPDATE booking_requests SET published_at = now()
WHERE idempotency_key = ANY(%s) AND published_at IS NULL
"""


class ClaimUnavailable(RuntimeError):
    """The database could not record the claim; nothing was published (answer 503, retryable)."""


class ClaimRejected(ValueError):
    """The database refused this claim's row itself (not the connection); a retry would fail too."""


def _connection_lost(exc: Exception) -> bool:
    """A failure of the connection or the server (every waiter gets it) rather than of one row."""
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)


@dataclass
class Record:
    """The idempotency record that won for a key (``published``: Kafka acknowledged it)."""

    key: str
    request_hash: str
    booking_id: str
    event_id: int
    user_id: str
    ticket_count: int
    requested_at: float
    published: bool = False


@dataclass
class _Claim:
    record: Record
    request_id: str | None
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[Record, bool] | None = None
    error: Exception | None = None


@dataclass
class _Mark:
    key: str
    done: threading.Event = field(default_factory=threading.Event)
    error: Exception | None = None


class ClaimWriter:
    def __init__(self, database_url: str, max_batch: int = 500, timeout_s: float = 5.0):
        url = make_url(database_url).set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        self.max_batch, self.timeout_s = max_batch, timeout_s
        self._queue: queue.SimpleQueue | None = None
        self._pid = None
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._thread: threading.Thread | None = None

    def _started(self) -> queue.SimpleQueue:
        """The writer thread of this process (started in the serving process, never inherited)."""
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    self._queue, self._conn = queue.SimpleQueue(), None
                    self._thread = threading.Thread(target=self._run, args=(self._queue,), name="claim-writer",
                                                    daemon=True)
                    self._thread.start()
                    self._pid = os.getpid()
        return self._queue

    def running(self) -> bool:
        """The writer thread of this process runs (started if it was not)."""
        self._started()
        return self._thread is not None and self._thread.is_alive()

    def claim(self, record: Record, request_id: str | None) -> tuple[Record, bool]:
        """Record ``record`` unless its key exists; return (the key's record, created)."""
        item = self._submit(_Claim(record, request_id))
        return item.result

    def mark_published(self, key: str) -> None:
        """Record that Kafka acknowledged the key's booking; raises ClaimUnavailable if not written.
        Losing a mark is harmless: a retry with the key re-publishes the same booking_id, which the
        consumer records at most once."""
        self._submit(_Mark(key))

    def _submit(self, item):
        """Queue for the next batch and wait for its commit."""
        self._started().put(item)
        if not item.done.wait(self.timeout_s):
            raise ClaimUnavailable("the database did not answer in time")
        if isinstance(item.error, ClaimRejected):
            raise item.error
        if item.error is not None:
            raise ClaimUnavailable(str(item.error).splitlines()[0] if str(item.error) else type(item.error).__name__)
        return item

    def _run(self, q: queue.SimpleQueue) -> None:
        while True:
            batch = [q.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(q.get_nowait())
                except queue.Empty:
                    break
            self._process(batch)

    def _process(self, batch: list) -> None:
        """Write one batch and wake its waiters (each with its result or error)."""
        claims = [i for i in batch if isinstance(i, _Claim)]
        marks = [i for i in batch if isinstance(i, _Mark)]
        try:
            self._write(claims, [m.key for m in marks])
        except Exception as exc:  # noqa: BLE001 - the waiters get the error, the thread lives on
            self._forget_broken_connection(exc)
            if _connection_lost(exc) or len(batch) == 1:
                log.warning("idempotency batch failed", extra={"error": str(exc)[:200], "claims": len(claims)})
                for item in batch:
                    item.error = exc if _connection_lost(exc) or isinstance(item, _Mark) else ClaimRejected(
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            else:  # one of them is refused: write each on its own, so only that one fails
                log.warning("idempotency batch refused, writing its items one by one",
                            extra={"error": str(exc)[:200], "claims": len(claims)})
                for item in batch:
                    self._write_alone(item)
        for item in batch:
            item.done.set()

    def _forget_broken_connection(self, exc: Exception) -> None:
        if self._conn is not None and (_connection_lost(exc) or self._conn.broken or self._conn.closed):
            self._conn.close()
            self._conn = None

    def _write_alone(self, item) -> None:
        try:
            if isinstance(item, _Claim):
                self._write([item], [])
            else:
                self._write([], [item.key])
        except Exception as exc:  # noqa: BLE001
            self._forget_broken_connection(exc)
            if _connection_lost(exc) or isinstance(item, _Mark):
                item.error = exc
            else:
                log.warning("idempotency record refused", extra={"error": str(exc)[:200]})
                item.error = ClaimRejected(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.conninfo, connect_timeout=3, autocommit=True)
        return self._conn

    def _write(self, claims: list[_Claim], marks: list[str]) -> None:
        first: dict[str, _Claim] = {}
        for c in claims:
            first.setdefault(c.record.key, c)
        conn = self._connection()
        with conn.transaction():
            created: set[str] = set()
            if first:
                rows = [c.record for c in first.values()]
                created = {r[0] for r in conn.execute(INSERT, (
                    [r.key for r in rows], [r.request_hash for r in rows], [r.booking_id for r in rows],
                    [r.event_id for r in rows], [r.user_id for r in rows], [r.ticket_count for r in rows],
                    [r.requested_at for r in rows], [c.request_id for c in first.values()],
                )).fetchall()}
            others = {c.record.key for c in claims if c.record.key not in created or first[c.record.key] is not c}
            existing = {row[0]: Record(*row) for row in conn.execute(EXISTING, (list(others),))} if others else {}
            if marks:
                conn.execute(MARK, (marks,))
        for c in claims:
            if first[c.record.key] is c and c.record.key in created:
                c.result = (c.record, True)
            else:
                c.result = (existing[c.record.key], False)
