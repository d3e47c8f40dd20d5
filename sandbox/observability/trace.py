"""`sandbox trace ID`: the path of one request across the sandbox, as a timeline of hops.

An id is a booking id (a UUID), a request id (`X-Request-ID`, carried on Kafka as the
`x-request-id` header and into S3 as the upload's `request-id` metadata) or an S3 key (`uploads/...`,
or the ticket `tickets/<booking id>.pdf`). The hops come from real data only:

- the logs store (LogsQL): the services' access lines (`request_id`, `booking_id`, booking-service's
  `partition`/`offset` on `ticket-bookings`, the frontend's `upload_key`), the consumer's one
  "batch committed" line per batch (its `booking_ids` and `offsets`), the Lambda log's
  START/EVENT/RESULT/END lines and the handler's "record processed" line;
- the systems, for what would cost a log line per booking (`records.py`): the decision row and the
  status outbox row in Postgres, the message on `ticket-bookings`, the analytics window, the S3 objects.

The booking path: frontend -> booking-service -> Kafka `ticket-bookings` -> booking-consumer (its
batch) -> Postgres (the decision) -> `booking-status` (the outbox relay) -> the analytics window.
The upload path: frontend -> S3 PutObject -> notification -> Lambda invocation -> the PDF under
`tickets/`. A request id follows its own access lines, then the booking or upload they name.
Each hop's time is when it began (an access line's time less its duration), so hops sort into a
timeline. The first hop that should be there and is not is where the path stopped; the trace then
shows the last log lines of the component that should have acted.

The functions up to `Tracer` are pure (rows and records in, hops out): tests/unit feed them
recorded rows. `Tracer` gathers, waiting up to `wait_s` for late lines (the shipper polls every
second and batches for one) only while the path looks incomplete.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from urllib.parse import quote_plus

from sandbox.observability.logsql import parse_time, quote

BOOKING, REQUEST, S3_KEY = "booking_id", "request_id", "s3_key"
BOOKINGS_TOPIC, STATUS_TOPIC = "ticket-bookings", "booking-status"
UPLOAD_PREFIX, TICKET_PREFIX = "uploads/", "tickets/"
BOOKING_ROUTES = ("/api/book", "/book")  # the access lines that made a booking (an upload names one too)

UUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")  # what svc_common.request_id accepts
# the frontend route -> the service it relays to (an answer of the route without that service's line
# is a hop missing)
UPSTREAM = {"/api/book": "booking-service", "/api/bookings/<booking_id>": "booking-service",
            "/api/events": "event-catalog", "/api/events/<event_id>": "event-catalog",
            "/api/users": "user-service", "/api/users/<user_id>": "user-service"}


class UnknownId(ValueError):
    """Nothing in the logs store nor in the systems mentions the id."""


def id_kinds(value: str) -> list[str]:
    """What ``value`` may be, most likely first: a booking id is a UUID (which a client may also
    have sent as its request id), an S3 key starts with `uploads/` or `tickets/` (or is an
    `s3://bucket/key` URL), anything else sane is a request id."""
    value = value.strip()
    if value.startswith("s3://"):
        value = value[5:].partition("/")[2]
    if value.startswith((UPLOAD_PREFIX, TICKET_PREFIX)):
        return [S3_KEY]
    if UUID.match(value):
        return [BOOKING, REQUEST]
    if REQUEST_ID.match(value):
        return [REQUEST]
    raise ValueError(f"{value!r} is no booking id (UUID), request id or S3 key (uploads/..., tickets/...)")


def normalise(value: str, kind: str) -> str:
    value = value.strip()
    if kind == S3_KEY and value.startswith("s3://"):
        return value[5:].partition("/")[2]
    return value.lower() if kind == BOOKING else value


# --------------------------------------------------------------------------- the result
@dataclass
class Hop:
    component: str  # the log component (or system) where it happened
    time: float | None  # epoch seconds: when it began
    what: str
    status: str
    ok: bool = True
    pod: str | None = None
    source: str = "logs"  # logs | postgres | kafka | s3

    def key(self) -> tuple:
        return (self.component, self.time, self.what, self.pod)


@dataclass
class Missing:
    """A hop that should be there and is not: who should have acted, and what was expected."""

    component: str  # a log component: its last lines are shown
    expected: str
    reason: str = "missing"  # or "failed": a hop that is there says it failed


@dataclass
class Path:
    hops: list[Hop] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)

    def extend(self, other: Path) -> None:
        seen = {h.key() for h in self.hops}
        self.hops += [h for h in other.hops if h.key() not in seen]
        self.missing += other.missing


@dataclass
class Trace:
    id: str
    kind: str
    hops: list[Hop]
    missing: list[Missing]
    last_lines: list[str] = field(default_factory=list)

    @property
    def stopped_at(self) -> Missing | None:
        """The last failed hop unless a later hop went on (a retry that passed), else the first
        hop missing."""
        failed = [i for i, h in enumerate(self.hops) if not h.ok]
        if failed and all(not h.ok for h in self.hops[failed[-1]:]):
            hop = self.hops[failed[-1]]
            return Missing(hop.component, f"{hop.what}: {hop.status}", "failed")
        return self.missing[0] if self.missing else None

    @property
    def complete(self) -> bool:
        return self.stopped_at is None

    @property
    def first_time(self) -> float | None:
        return next((h.time for h in self.hops if h.time is not None), None)

    def offset_ms(self, hop: Hop) -> float | None:
        first = self.first_time
        return None if hop.time is None or first is None else round((hop.time - first) * 1000, 1)

    def to_json(self) -> dict:
        stopped = self.stopped_at
        return {"id": self.id, "kind": self.kind,
                "hops": [{**{k: v for k, v in asdict(h).items() if k != "time"}, "time": iso(h.time),
                          "offset_ms": self.offset_ms(h)} for h in self.hops],
                "complete": stopped is None,
                "stopped_at": asdict(stopped) if stopped else None,
                "last_lines": self.last_lines}


def iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at).astimezone().isoformat(timespec="milliseconds")


def timeline(hops: Iterable[Hop]) -> list[Hop]:
    """Hops by the time they began; a hop without a time stays right after the hop before it."""
    groups: list[list[Hop]] = [[]]  # groups[0]: timeless hops before any timed one
    for hop in hops:
        if hop.time is None:
            groups[-1].append(hop)
        else:
            groups.append([hop])
    head, rest = groups[0], groups[1:]
    return head + [hop for group in sorted(rest, key=lambda g: g[0].time or 0.0) for hop in group]


def clock(at: float | None) -> str:
    """Local wall-clock time to the millisecond, for people."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(at).strftime("%H:%M:%S.%f")[:-3]


# --------------------------------------------------------------------------- reading rows
LAMBDA_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) ")
START = re.compile(r"START (\S+) RequestId: (\S+) \((.+), environment (\S+)\)")
EVENT = re.compile(r"EVENT RequestId: (\S+) (.*)$")
RESULT = re.compile(r"RESULT RequestId: (\S+) (.*)$")
END = re.compile(r"END RequestId: (\S+) Duration: (\d+) ms(?: Init: (\d+) ms)? Status: (\w+)")
LAMBDA_REQUEST_ID = re.compile(r"RequestId: ([0-9a-fA-F-]{36})")


def _int(value) -> int | None:
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _float(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def row_time(row: dict) -> float | None:
    """When the line was written: the service's own `ts`, else a Lambda log line's stamp (local
    time), else the store's `_time` (for a plain line, when the shipper read it)."""
    own = parse_time(row.get("ts")) if row.get("ts") else None
    if own is not None:
        return own
    match = LAMBDA_STAMP.match(row.get("_msg") or "")
    if match:
        stamp = match.group(1)
        fmt = "%Y-%m-%d %H:%M:%S.%f" if "." in stamp else "%Y-%m-%d %H:%M:%S"
        return datetime.strptime(stamp, fmt).timestamp()  # naive: this machine's local time, as written
    return parse_time(row.get("_time"))


def message(row: dict) -> str:
    """The line's text without a Lambda log stamp."""
    text = row.get("_msg") or row.get("message") or ""
    match = LAMBDA_STAMP.match(text)
    return text[match.end():] if match else text


def is_access(row: dict) -> bool:
    return message(row) == "request" and "status" in row and "path" in row


def access_hop(row: dict) -> Hop:
    """One served request: began at its line's time less its duration."""
    status = _int(row.get("status")) or 0
    duration = _float(row.get("duration_ms"))
    at = row_time(row)
    if at is not None and duration is not None:
        at -= duration / 1000
    what = f"{row.get('method', '?')} {row.get('path', '?')}"
    extra = []
    if duration is not None:
        extra.append(f"{duration:g} ms")
    if row.get("partition") not in (None, "") and row.get("offset") not in (None, ""):
        extra.append(f"published to {BOOKINGS_TOPIC} partition {row['partition']} offset {row['offset']}")
    if str(row.get("replayed", "")).lower() == "true":
        extra.append("replayed (Idempotency-Key seen before)")
    if row.get("upload_key"):
        extra.append(f"stored {row['upload_key']}")
    if row.get("kafka"):
        extra.append(f"Kafka: {row['kafka']}")
    return Hop(row.get("component", "?"), at, what + (f" ({'; '.join(extra)})" if extra else ""), str(status),
               ok=status < 500, pod=row.get("pod"))


def line_hop(row: dict) -> Hop:
    level = (row.get("level") or "").upper()
    text = message(row)
    if row.get("error"):
        text += f": {row['error']}"
    return Hop(row.get("component", "?"), row_time(row), text[:200], level.lower() or "logged",
               ok=level not in ("ERROR", "CRITICAL"), pod=row.get("pod"))


def batch_ids(row: dict) -> set[str]:
    """The booking ids a "batch committed" line names (a space-separated string, or a list)."""
    value = row.get("booking_ids") or ""
    if isinstance(value, list):
        return {str(v).lower() for v in value}
    return set(re.findall(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", value.lower()))


def batch_hop(row: dict) -> Hop:
    decided, messages, confirmed = row.get("decided"), row.get("messages"), row.get("confirmed")
    offsets = f", read {row.get('topic', BOOKINGS_TOPIC)} {row['offsets']}" if row.get("offsets") else ""
    return Hop(row.get("component", "booking-consumer"), row_time(row),
               f"batch committed: {decided} of {messages} message(s) decided, {confirmed} confirmed{offsets}",
               "committed", pod=row.get("pod"))


def in_batch_range(row: dict, partition: int, offset: int) -> bool | None:
    """Whether ``partition:offset`` lies in the batch's `offsets` ranges (None: the line has none)."""
    if not row.get("offsets"):
        return None
    for part in str(row["offsets"]).split():
        p, _, span = part.partition(":")
        first, _, last = span.partition("-")
        lo, hi = _int(first), _int(last)
        if _int(p) == partition and lo is not None and hi is not None and lo <= offset <= hi:
            return True
    return False


@dataclass
class Invocation:
    """One Lambda invocation as its log record tells it."""

    request_id: str
    function: str | None = None
    how: str | None = None
    environment: str | None = None
    started: float | None = None
    ended: float | None = None
    duration_ms: int | None = None
    init_ms: int | None = None
    status: str | None = None
    event: dict | None = None
    event_text: str = ""
    processed: list[tuple[float | None, dict]] = field(default_factory=list)  # the handler's lines


def _json_tail(text: str) -> dict | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        value = json.loads(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def invocations(rows: Iterable[dict]) -> dict[str, Invocation]:
    """The Lambda log's records, by RequestId, from its lines (any order)."""
    found: dict[str, Invocation] = {}
    for row in rows:
        if row.get("component") != "lambda":
            continue
        text, at = message(row), row_time(row)
        if m := START.match(text):
            inv = found.setdefault(m.group(2), Invocation(m.group(2)))
            inv.function, inv.how, inv.environment, inv.started = m.group(1), m.group(3), m.group(4), at
        elif m := EVENT.match(text):
            inv = found.setdefault(m.group(1), Invocation(m.group(1)))
            inv.event_text = m.group(2)
            inv.event = _json_tail(m.group(2))
        elif m := END.match(text):
            inv = found.setdefault(m.group(1), Invocation(m.group(1)))
            inv.ended, inv.duration_ms, inv.status = at, int(m.group(2)), m.group(4)
            inv.init_ms = int(m.group(3)) if m.group(3) else None
        elif "record processed" in text and (m := LAMBDA_REQUEST_ID.search(text) or
                                            re.search(r'"request_id": "([0-9a-fA-F-]{36})"', text)):
            value = _json_tail(text)
            if value is not None:
                found.setdefault(m.group(1), Invocation(m.group(1))).processed.append((_handler_time(text, at), value))
    return found


def _handler_time(text: str, fallback: float | None) -> float | None:
    """awslambdaric's own stamp on a handler line (`[INFO]\t2026-12-02T06:49:59.077Z\t...`)."""
    match = re.search(r"\t(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)\t", text)
    return parse_time(match.group(1)) if match else fallback


def event_keys(inv: Invocation) -> list[tuple[str, float | None]]:
    """(object key as S3 sent it, the record's eventTime) of each record of an S3 event."""
    if inv.event is None:  # cut at 2000 characters: the keys are still in the text
        return [(k, None) for k in re.findall(r'"key": "([^"]+)"', inv.event_text)]
    out = []
    for record in inv.event.get("Records") or []:
        key = ((record.get("s3") or {}).get("object") or {}).get("key")
        if key:
            out.append((key, parse_time(record.get("eventTime"))))
    return out


def s3_encoded(key: str) -> str:
    """A key as S3 events carry it (form-encoded, slashes kept)."""
    return quote_plus(key, safe="/")


# --------------------------------------------------------------------------- the paths (pure)
@dataclass
class BookingFacts:
    """What the systems recorded about one booking (None: not there; ``errors``: could not ask)."""

    request: dict | None = None  # booking_requests
    booking: dict | None = None  # bookings
    outbox: list[dict] = field(default_factory=list)
    message: dict | None = None  # the ticket-bookings record at the logged partition/offset
    window: dict | None = None  # the analytics-results record of the booking's window
    window_seconds: int | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def event_id(self) -> int | None:
        for source in (self.booking, self.request, (self.message or {}).get("value")):
            if isinstance(source, dict) and source.get("event_id") is not None:
                return int(source["event_id"])
        return None

    @property
    def requested_at(self) -> float | None:
        for source in (self.booking, self.request, (self.message or {}).get("value")):
            if isinstance(source, dict):
                value = source.get("requested_at", source.get("timestamp"))
                if value is not None:
                    return float(value)
        return None


def placement(rows: Iterable[dict]) -> tuple[int, int] | None:
    """(partition, offset) of the booking on ticket-bookings, from booking-service's accepted line."""
    for row in rows:
        partition, offset = _int(row.get("partition")), _int(row.get("offset"))
        if row.get("component") == "booking-service" and partition is not None and offset is not None:
            return partition, offset
    return None


def booking_path(booking_id: str, rows: list[dict], facts: BookingFacts, now: float | None = None,
                 entry: bool = True) -> Path:
    """frontend -> booking-service -> ticket-bookings -> booking-consumer -> Postgres -> booking-status
    -> analytics. ``entry`` False: the access lines are someone else's (a request id's trace)."""
    now = time.time() if now is None else now
    path = Path()
    mine = [r for r in rows if (r.get("booking_id") or "").lower() == booking_id or booking_id in batch_ids(r)]
    access = [r for r in mine if is_access(r) and r.get("route") in BOOKING_ROUTES]
    if entry:
        path.hops += [access_hop(r) for r in access]
        path.hops += [line_hop(r) for r in mine if not is_access(r) and r.get("component") != "booking-consumer"
                      and (r.get("level") or "").upper() in ("WARNING", "ERROR")]
        by = {r.get("component") for r in access}
        if "booking-service" not in by and (facts.request is not None or "frontend" in by):
            path.missing.append(Missing("booking-service", "its access line for POST /book of the booking"))

    placed = placement(mine)
    published = placed is not None or (facts.request or {}).get("published_at") is not None
    if placed is not None:
        partition, offset = placed
        msg = facts.message
        if msg is not None and (msg.get("value") or {}).get("booking_id", "").lower() == booking_id:
            rid = msg["headers"].get("x-request-id")
            path.hops.append(Hop("kafka", msg.get("timestamp"),
                                 f"{BOOKINGS_TOPIC} partition {partition} offset {offset}"
                                 + (f" (x-request-id {rid})" if rid else ""), "stored", source="kafka"))
        elif "message" in facts.errors:
            path.hops.append(Hop("kafka", None, f"{BOOKINGS_TOPIC} partition {partition} offset {offset} "
                                 f"(as logged; not read: {facts.errors['message']})", "logged"))
        else:
            path.hops.append(Hop("kafka", None, f"{BOOKINGS_TOPIC} partition {partition} offset {offset} "
                                 "(as logged; the message is no longer there or holds another booking)",
                                 "not found", ok=False))
    elif not published:
        if facts.request is not None or access:
            path.missing.append(Missing("booking-service", f"the booking published to {BOOKINGS_TOPIC} "
                                        "(no accepted answer, the idempotency record is unpublished)"))
        elif facts.booking is None:
            return path  # nothing at all: not a booking id

    batches = [r for r in mine if message(r) == "batch committed"]
    for row in batches:
        hop = batch_hop(row)
        if placed is not None and in_batch_range(row, *placed) is False:
            hop.what += f" (partition {placed[0]} offset {placed[1]} is outside its ranges)"
        path.hops.append(hop)
    if not batches:
        path.missing.append(Missing("booking-consumer", f"a \"batch committed\" line naming the booking "
                                    f"(consumed from {BOOKINGS_TOPIC})"))

    booking = facts.booking
    if booking is not None:
        reason = f" ({booking['reason']})" if booking.get("reason") else ""
        path.hops.append(Hop("postgres", booking.get("decided_at"),
                             f"bookings row: {booking['status']}{reason}, {booking['ticket_count']} ticket(s) "
                             f"of event {booking['event_id']} (transaction began)", booking["status"], source="postgres"))
    elif "booking" in facts.errors:
        path.missing.append(Missing("postgres", f"the decision in bookings (not read: {facts.errors['booking']})"))
    else:
        path.missing.append(Missing("booking-consumer", "the decision committed to Postgres (bookings row)"))

    status_rows = [o for o in facts.outbox if o.get("topic") == STATUS_TOPIC] or facts.outbox
    sent = [o for o in status_rows if o.get("sent_at") is not None]
    if sent:
        o = sent[0]
        path.hops.append(Hop("kafka", o["sent_at"], f"{o['topic']}: status {o.get('status')} sent by the outbox relay "
                             f"(outbox row {o['id']})", "sent", source="postgres"))
    elif status_rows:
        path.missing.append(Missing("booking-consumer", f"the status event on {STATUS_TOPIC} (outbox row "
                                    f"{status_rows[0]['id']} written, not sent yet)"))
    elif booking is not None:
        path.missing.append(Missing("booking-consumer", f"a status event for {STATUS_TOPIC} (no outbox row)"))

    window_s, event_id, at = facts.window_seconds, facts.event_id, facts.requested_at
    if facts.window is not None:
        w = facts.window["value"]
        path.hops.append(Hop("analytics", facts.window.get("timestamp"),
                             f"window {w['window_start']} .. {w['window_end']} of event {w['event_id']}: "
                             f"{w.get('booking_count')} booking(s), {w.get('total_tickets')} ticket(s) "
                             f"(analytics-results partition {facts.window['partition']} offset {facts.window['offset']})",
                             "counted", source="kafka"))
    elif window_s and event_id is not None and at is not None and published:
        end = (at // window_s + 1) * window_s
        due = (f"not closed yet: it ends {iso(end)}" if end > now else
               f"closed {now - end:.0f} s ago, results are due ~3-6 s after")
        error = f"; not read: {facts.errors['window']}" if "window" in facts.errors else ""
        path.missing.append(Missing("analytics", f"the analytics window of event {event_id} holding "
                                    f"{iso(at)} ({due}{error})"))
    return path


def request_path(request_id: str, rows: list[dict]) -> tuple[Path, list[tuple[str, str]]]:
    """The request's own lines, and what to follow: [(kind, id)] for the booking or upload it made."""
    path = Path()
    mine = [r for r in rows if r.get("request_id") == request_id]
    access = [r for r in mine if is_access(r)]
    path.hops += [access_hop(r) for r in access]
    path.hops += [line_hop(r) for r in mine if not is_access(r)]
    components = {r.get("component") for r in access}
    for row in access:
        upstream = UPSTREAM.get(row.get("route", ""))
        status = _int(row.get("status")) or 0
        if row.get("component") == "frontend" and upstream and upstream not in components and (
                200 <= status < 300 or status >= 500):
            path.missing.append(Missing(upstream, f"{row.get('method')} {row.get('path')} relayed by the frontend "
                                        f"(answered {status})"))
    follow: list[tuple[str, str]] = []
    for row in access:
        status = _int(row.get("status")) or 0
        if row.get("upload_key") and (S3_KEY, row["upload_key"]) not in follow:
            follow.append((S3_KEY, row["upload_key"]))
        elif row.get("booking_id") and status < 300 and (BOOKING, row["booking_id"].lower()) not in follow:
            follow.append((BOOKING, row["booking_id"].lower()))
    return path, follow


@dataclass
class UploadFacts:
    upload: dict | None = None  # HeadObject of the upload
    tickets: dict[str, dict | None] = field(default_factory=dict)  # ticket key -> HeadObject
    errors: dict[str, str] = field(default_factory=dict)


def ticket_keys(invs: Iterable[Invocation], key: str) -> list[str]:
    """The ticket keys the handler reported for ``key``."""
    out: list[str] = []
    for inv in invs:
        for _, value in inv.processed:
            if value.get("key") == key and value.get("ticket") and value["ticket"] not in out:
                out.append(value["ticket"])
    return out


def upload_invocations(rows: list[dict], key: str) -> list[Invocation]:
    encoded = {key, s3_encoded(key)}
    return [inv for inv in invocations(rows).values()
            if any(k in encoded for k, _ in event_keys(inv))
            or any(v.get("key") == key for _, v in inv.processed)]


def upload_path(key: str, rows: list[dict], facts: UploadFacts, entry: bool = True) -> Path:
    """frontend -> S3 PutObject -> notification -> Lambda invocation(s) -> the PDF under tickets/."""
    path = Path()
    access = [r for r in rows if r.get("upload_key") == key and is_access(r)]
    if entry:
        path.hops += [access_hop(r) for r in access]
    invs = upload_invocations(rows, key)
    event_time = next((t for inv in invs for k, t in event_keys(inv) if k in (key, s3_encoded(key)) and t), None)
    upload = facts.upload
    if upload is not None:
        meta = upload["metadata"]
        about = ", ".join(f"{k} {meta[k]}" for k in ("booking-id", "request-id") if meta.get(k))
        path.hops.append(Hop("s3", event_time or upload.get("last_modified"),
                             f"PutObject {key} ({upload.get('bytes')} bytes, {upload.get('content_type')}"
                             + (f"; {about}" if about else "") + ")", "stored", source="s3"))
    elif "upload" in facts.errors:
        path.missing.append(Missing("aws", f"the upload in S3 (not read: {facts.errors['upload']})"))
    elif invs or access:
        path.hops.append(Hop("s3", event_time, f"{key}: no longer in the bucket (deleted after its upload)",
                             "gone", source="s3"))
    else:
        return path  # nothing at all: not an upload key
    if not invs:
        path.missing.append(Missing("lambda", "the S3 notification invoking ticket-generator (no Lambda "
                                    "invocation names the key)"))
        return path
    finished: list[Hop] = []  # after the PDFs in the list, so an equal time keeps them before the end
    for inv in invs:
        init = f", init {inv.init_ms} ms" if inv.init_ms is not None else ""
        notified = next((r.get("eventName") for r in (inv.event or {}).get("Records") or [] if isinstance(r, dict)), None)
        path.hops.append(Hop("lambda", inv.started, (f"S3 notification {notified}: " if notified else "")
                             + f"{inv.function} invoked ({inv.how}, environment {inv.environment}), "
                             f"RequestId {inv.request_id}", "started"))
        for at, value in inv.processed:
            if value.get("key") != key:
                continue
            detail = value.get("reason") or value.get("ticket") or ""
            path.hops.append(Hop("lambda", at, f"record processed: {value.get('status')} {detail}".rstrip(),
                                 str(value.get("status")), ok=value.get("status") != "error"))
        if inv.status is not None:
            # its lines were written inside it: the end is measured by the executor and their times by
            # the function's logger, which can differ by a millisecond's rounding under load
            ended = max([t for t in (inv.ended, *(at for at, _ in inv.processed)) if t is not None], default=None)
            finished.append(Hop("lambda", ended, f"RequestId {inv.request_id} finished: "
                                f"{inv.duration_ms} ms{init}", inv.status, ok=inv.status == "ok"))
    tickets = ticket_keys(invs, key)
    for ticket in tickets:
        head = facts.tickets.get(ticket)
        written = next((at for inv in invs for at, v in inv.processed if v.get("ticket") == ticket), None)
        if head is not None:
            path.hops.append(Hop("s3", written or head.get("last_modified"),
                                 f"{ticket} ({head.get('bytes')} bytes, {head.get('content_type')})", "stored",
                                 source="s3"))
        elif f"ticket {ticket}" in facts.errors:
            path.missing.append(Missing("aws", f"{ticket} in S3 (not read: {facts.errors[f'ticket {ticket}']})"))
        else:
            path.missing.append(Missing("lambda", f"{ticket} in S3 (the handler named it; it is not there)"))
    path.hops += finished
    if not tickets and all(inv.status == "ok" for inv in invs) and not any(
            v.get("key") == key for inv in invs for _, v in inv.processed):
        path.missing.append(Missing("lambda", "the handler's \"record processed\" line for the key"))
    return path


# --------------------------------------------------------------------------- gathering
class Tracer:
    """Gathers rows from the logs store and facts from the systems, then assembles the path."""

    def __init__(self, store, records, window_seconds: int | None = None, wait_s: float = 3.0,
                 sleep: Callable[[float], None] = time.sleep):
        self.store, self.records = store, records
        self.window_seconds, self.wait_s, self.sleep = window_seconds, wait_s, sleep

    def trace(self, value: str) -> Trace:
        kinds = id_kinds(value)  # ValueError: not an id at all
        deadline = time.monotonic() + self.wait_s
        while True:
            found = None
            for kind in kinds:
                ident = normalise(value, kind)
                path = self._path(kind, ident)
                if path.hops or path.missing:
                    found = Trace(ident, kind, timeline(path.hops), path.missing)
                    break
            if (found is not None and found.complete) or time.monotonic() >= deadline:
                break
            self.sleep(0.5)  # late lines: the shipper polls every second and batches for one
        if found is None:
            raise UnknownId(f"nothing in the logs store or the systems mentions {value.strip()!r}")
        stopped = found.stopped_at
        if stopped is not None:
            found.last_lines = [f"{clock(row_time(r))} {r.get('pod') or r.get('component')}: "
                                f"{_line_text(r)}" for r in self.store.last_lines(stopped.component, 10)]
        return found

    def _path(self, kind: str, ident: str) -> Path:
        if kind == BOOKING:
            return self._booking(ident)
        if kind == S3_KEY:
            return self._upload(ident)
        path, follow = request_path(ident, self.store.query(f"request_id:={quote(ident)}"))
        for what, other in follow:
            path.extend(self._booking(other, entry=False) if what == BOOKING else self._upload(other, entry=False))
        return path

    def _booking(self, booking_id: str, entry: bool = True) -> Path:
        rows = self.store.query(f"booking_id:={quote(booking_id)} or booking_ids:{quote(booking_id)}")
        facts = BookingFacts(window_seconds=self.window_seconds)
        self._ask(facts, "request", lambda: self.records.booking_request(booking_id))
        self._ask(facts, "booking", lambda: self.records.booking(booking_id))
        self._ask(facts, "outbox", lambda: self.records.outbox(booking_id), default=[])
        placed = placement(r for r in rows if (r.get("booking_id") or "").lower() == booking_id)
        if placed is not None:
            self._ask(facts, "message", lambda: self.records.message(BOOKINGS_TOPIC, *placed))
        if self.window_seconds and facts.event_id is not None and facts.requested_at is not None:
            self._ask(facts, "window", lambda: self.records.analytics_window(
                facts.event_id, facts.requested_at, self.window_seconds))
        return booking_path(booking_id, rows, facts, entry=entry)

    def _upload(self, key: str, entry: bool = True) -> Path:
        if key.startswith(TICKET_PREFIX):
            key = self._upload_of_ticket(key) or key
            if key.startswith(TICKET_PREFIX):
                return Path()
        terms = " or ".join(f"_msg:{quote(k)}" for k in dict.fromkeys((key, s3_encoded(key))))
        rows = self.store.query(f"upload_key:={quote(key)} or {terms}")
        ids = {inv.request_id for inv in upload_invocations(rows, key)}
        if ids:
            rows = unique(rows + self.store.query(
                "component:=lambda (" + " or ".join(f"_msg:{quote(i)}" for i in sorted(ids)) + ")"))
        facts = UploadFacts()
        self._ask(facts, "upload", lambda: self.records.s3_object(key))
        for ticket in ticket_keys(upload_invocations(rows, key), key):
            try:
                facts.tickets[ticket] = self.records.s3_object(ticket)
            except Exception as exc:  # noqa: BLE001 - that hop says it could not be read
                facts.errors[f"ticket {ticket}"] = _short(exc)
        return upload_path(key, rows, facts, entry=entry)

    def _upload_of_ticket(self, ticket: str) -> str | None:
        """The upload a ticket was made from: the handler's line, else the ticket's `source-key`."""
        rows = self.store.query(f"component:=lambda _msg:{quote(ticket)}")
        for inv in invocations(rows).values():
            for _, value in inv.processed:
                if value.get("ticket") == ticket and value.get("key"):
                    return value["key"]
        try:
            head = self.records.s3_object(ticket)
        except Exception:  # noqa: BLE001 - then the logs alone decide
            head = None
        from urllib.parse import unquote_plus

        source = (head or {}).get("metadata", {}).get("source-key")
        return unquote_plus(source) if source else None

    @staticmethod
    def _ask(facts, name: str, lookup: Callable, default=None) -> None:
        try:
            setattr(facts, name, lookup())
        except Exception as exc:  # noqa: BLE001 - a system that cannot be asked: its hop says so
            setattr(facts, name, default)
            facts.errors[name] = _short(exc)


def unique(rows: Iterable[dict]) -> list[dict]:
    """Rows of several queries, each once."""
    seen, out = set(), []
    for row in rows:
        key = (row.get("_stream_id"), row.get("_time"), row.get("_msg"))
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


def _line_text(row: dict) -> str:
    text = message(row)
    extras = {k: v for k, v in row.items() if not k.startswith(("_", "scope.", "severity_", "log.")) and k not in (
        "component", "pod", "ts", "level", "logger", "service", "message")}
    level = f"{row['level']} " if row.get("level") else ""
    return (level + text + (" " + json.dumps(extras, default=str) if extras else ""))[:300]
