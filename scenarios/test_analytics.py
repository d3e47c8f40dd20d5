"""Flow 2: bookings -> Flink tumbling windows -> `analytics-results` (read_committed) -> the UI; and
`ticket-bookings` holds bookings only (the job's event-time ticks have a topic of their own)."""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import suppress

import pytest

from sandbox.poll import until
from scenarios.lib import analytics as A
from scenarios.lib.clients import AnalyticsReader

pytestmark = [pytest.mark.validated("sandbox"), pytest.mark.uses("kafka", "postgres", "flink")]


def test_window_totals_are_exact_for_known_timestamps(api, kafka, new_event, uid, window_seconds):
    size = window_seconds
    event = new_event(1000)
    eid = event["id"]
    reader = AnalyticsReader(kafka, {eid})
    try:
        reader.poll(1.0)  # join + assignment before the results arrive
        # window a's bookings are stamped now, 10 ms apart: 1 s left keeps them in one window
        first_start = A.wait_for_fresh_window(size, need=1.0)
        window_a = A.bookings_now(eid, [1, 2, 3, 1, 2, 3, 4], f"{uid}-a")
        A.produce(kafka, window_a)
        time.sleep(max(0.0, first_start + size + 0.1 - time.time()))  # the next window
        window_b = A.bookings_now(eid, [5, 1, 2], f"{uid}-b")
        A.produce(kafka, window_b)
        expected = A.expected_results(window_a + window_b, size)
        assert len(expected) == 2, expected

        # once window a has fired, the job's watermark is past it, even if the job was just
        # restored (a restored job has no watermark until its first one): a booking stamped three
        # windows back is then late for certain and must be dropped; window b fires after it
        reader.wait_for(A.expected_results(window_a, size), deadline_s=size + 20)
        late = {"booking_id": f"{uid}-late", "event_id": eid, "user_id": f"{uid}-late", "ticket_count": 9,
                "timestamp": float(first_start - 3 * size)}
        A.produce(kafka, [late])
        reader.wait_for(expected, deadline_s=size + 20)
        actual = A.actual_results(reader, {eid})
    finally:
        reader.close()
    assert actual == expected  # exact totals, nothing for the late record's window, no extra window

    last_end = max(k[1] for k in expected)
    want = (last_end, *expected[(eid, last_end)])
    seen = ui = None

    def shown() -> bool:
        nonlocal seen, ui
        ui = api.get(f"/api/analytics?event_id={eid}")
        assert ui.status_code == 200
        events = [e for e in ui.json()["events"] if e["event_id"] == eid]
        if events:
            latest = events[0]["latest"]
            seen = (latest["window_end"], latest["total_tickets"], latest["booking_count"])
        return seen == want

    with suppress(TimeoutError):  # each gateway worker starts its own consumer on first call
        until(shown, timeout=20, what=f"window {want} in /api/analytics", interval=0.5)
    assert seen == want, ui.json().get("consumer")


BOOKING_FIELDS = {"booking_id": str, "event_id": int, "user_id": str, "ticket_count": int, "timestamp": (int, float)}


def _not_a_booking(value: bytes | None) -> str | None:
    """Why a `ticket-bookings` message is not a booking in the seed's format plus booking_id (None: it is)."""
    try:
        data = json.loads(value or b"")
    except ValueError:
        return "not JSON"
    if not isinstance(data, dict):
        return "not a JSON object"
    if data.get("type") == "heartbeat":
        return "an analytics heartbeat"
    if set(data) != set(BOOKING_FIELDS):
        return f"fields {sorted(data)}"
    wrong = [k for k, t in BOOKING_FIELDS.items() if isinstance(data[k], bool) or not isinstance(data[k], t)]
    return f"wrong type of {wrong}" if wrong else None


@pytest.mark.uses("kafka", "flink")
def test_ticket_bookings_carries_bookings_only_and_the_clock_ticks_elsewhere(kafka):
    """A consumer written to the booking format reads `ticket-bookings` from the beginning without a
    single other message: the analytics job's event time comes from its own `analytics-clock` topic,
    which the heartbeat keeps ticking (that is what closes windows when bookings stop)."""
    clock_before = sum(kafka.end_offsets("analytics-clock").values())
    ranges = kafka.offset_ranges("ticket-bookings")  # from each partition's log start to its end now
    messages = kafka.read_range("ticket-bookings", {p: lo for p, (lo, _) in ranges.items()},
                                {p: hi for p, (_, hi) in ranges.items()}, deadline_s=120)
    expected = sum(hi - lo for lo, hi in ranges.values())
    assert len(messages) == expected, f"read {len(messages)} of {expected} messages in 120 s"
    odd = [(m["partition"], m["offset"], reason) for m in messages if (reason := _not_a_booking(m["value"]))]
    kinds = Counter(reason for _, _, reason in odd)
    hint = (" -- heartbeats written before they moved to analytics-clock stay until the topic is emptied "
            "(`sandbox down --wipe`)" if "an analytics heartbeat" in kinds else "")
    assert not odd, f"{len(odd)} of {len(messages)} messages are not bookings: {dict(kinds)}; first {odd[:5]}{hint}"

    until(lambda: sum(kafka.end_offsets("analytics-clock").values()) > clock_before, timeout=10,
          what="a heartbeat tick on analytics-clock", interval=0.5)
