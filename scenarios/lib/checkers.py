"""Pure checkers (no I/O), after Jepsen's queue workload.

A booking is *accepted* when the client got 202 for its Idempotency-Key. After the fault is healed:
- lost        = accepted booking ids that never got a row in `bookings` (must be 0);
- duplicated  = booking ids recorded more than once, keys that were given more than one booking id,
                booking ids with conflicting decisions on `booking-status`, plus seats reserved
                twice (capacity - tickets_available != confirmed tickets) (must be 0);
- unexpected  = rows for the test's event/user that no attempt of this test produced (must be 0);
- unseen      = accepted but not (yet) recorded, sampled over time: it may rise during the fault and
                must return to 0 after healing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field


@dataclass
class QueueResult:
    attempted: int
    accepted: int
    observed: int
    confirmed: int
    rejected: int
    lost: int
    duplicated: int
    unexpected: int
    unseen_final: int
    unseen_max: int
    not_accepted: int            # attempts that never got a 202 (gave up / 4xx)
    seat_mismatch: int           # (capacity - tickets_available) - confirmed tickets
    details: dict = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.unexpected == 0 and self.unseen_final == 0 \
            and self.seat_mismatch == 0

    def as_dict(self) -> dict:
        return {**asdict(self), "valid": self.valid}


def unseen(accepted_ids: set[str], observed_ids: set[str]) -> int:
    return len(accepted_ids - observed_ids)


def check_queue(attempts: list[dict], rows: list[tuple], capacity: int, tickets_available: int,
                status_messages: list[dict] | None = None, unseen_series: list[int] | None = None) -> QueueResult:
    """``attempts``: [{"booking_ids": set/list of ids seen for the key, "accepted": bool, "booking_id": id}];
    ``rows``: (booking_id, user_id, ticket_count, status, reason) from `bookings` for the test's event;
    ``status_messages``: decoded `booking-status` values for those booking ids (at-least-once)."""
    accepted = {a["booking_id"] for a in attempts if a["accepted"]}
    attempted = set().union(*[set(a["booking_ids"]) for a in attempts]) if attempts else set()
    counts = Counter(r[0] for r in rows)
    observed = set(counts)
    dup_rows = sum(n - 1 for n in counts.values() if n > 1)
    multi_id_keys = sum(1 for a in attempts if len(set(a["booking_ids"])) > 1)
    decisions: dict[str, set[str]] = defaultdict(set)
    for m in status_messages or []:
        decisions[m["booking_id"]].add(m["status"])
    row_status = {r[0]: r[3] for r in rows}
    conflicting = sum(1 for b, s in decisions.items() if len(s) > 1 or (b in row_status and s != {row_status[b]}))
    confirmed_tickets = sum(r[2] for r in rows if r[3] == "confirmed")
    series = list(unseen_series or []) + [unseen(accepted, observed)]
    return QueueResult(
        attempted=len(attempts),
        accepted=len(accepted),
        observed=len(observed),
        confirmed=sum(1 for r in rows if r[3] == "confirmed"),
        rejected=sum(1 for r in rows if r[3] == "rejected"),
        lost=len(accepted - observed),
        duplicated=dup_rows + multi_id_keys + conflicting,
        unexpected=len(observed - attempted),
        unseen_final=series[-1],
        unseen_max=max(series),
        not_accepted=sum(1 for a in attempts if not a["accepted"]),
        seat_mismatch=(capacity - tickets_available) - confirmed_tickets,
        details={"dup_rows": dup_rows, "keys_with_several_ids": multi_id_keys,
                 "conflicting_decisions": conflicting, "unseen_series": series[-40:],
                 "lost_ids": sorted(accepted - observed)[:10], "unexpected_ids": sorted(observed - attempted)[:10]},
    )


def window_start(ts: float, size: int) -> int:
    return int(ts // size) * size


def expected_windows(bookings: list[dict], size: int) -> dict[tuple[int, int], tuple[int, int]]:
    """(event_id, window_start epoch s) -> (total_tickets, booking_count) for tumbling windows."""
    out: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    for b in bookings:
        acc = out[(b["event_id"], window_start(b["timestamp"], size))]
        acc[0] += b["ticket_count"]
        acc[1] += 1
    return {k: (v[0], v[1]) for k, v in out.items()}


# the one error shape every answer that leaves the gateway has (README "Errors and readiness"):
# {"error": str, "field": str | null, "retryable": bool}, with context fields beside it at most
ERROR_KEYS = frozenset({"error", "field", "retryable"})
ERROR_CONTEXT = frozenset({"booking_id", "upstream", "upstream_status"})


def error_shape_problem(status: int, content_type: str, body: object) -> str | None:
    """Why a non-2xx answer is not of the one error shape, or None when it is. ``body``: the parsed
    JSON, or the raw text when it did not parse."""
    if not content_type.startswith("application/json"):
        return f"{status}: Content-Type {content_type!r}, body {str(body)[:80]!r}"
    if not isinstance(body, dict) or not ERROR_KEYS <= set(body):
        return f"{status}: not the error shape: {str(body)[:120]}"
    if set(body) - ERROR_KEYS - ERROR_CONTEXT:
        return f"{status}: unexpected keys {sorted(set(body) - ERROR_KEYS - ERROR_CONTEXT)}"
    if not isinstance(body["error"], str) or not (body["field"] is None or isinstance(body["field"], str)) \
            or not isinstance(body["retryable"], bool):
        return f"{status}: wrong types: {str(body)[:120]}"
    if status in (502, 503, 504) and body["retryable"] is not True:
        return f"{status}: a downstream failure that is not retryable: {str(body)[:120]}"
    return None
