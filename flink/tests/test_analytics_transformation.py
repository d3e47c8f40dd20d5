"""The pure transformation on an embedded mini-cluster: JSON file in, JSON files out.

One streaming job runs over one file whose line order is the processing order (parallelism 1),
so watermark progress is deterministic: the SQL watermark operator emits a new watermark as
soon as it has advanced by more than ``pipeline.auto-watermark-interval`` (200 ms) of event
time, which every step below does. At the end of the bounded file the watermark jumps to
+inf and every still-open window fires.

Window 10 s, out-of-orderness bound 3 s, BASE = 2026-11-25T14:00:00Z.
"""

import json

import pytest
from analytics_testlib import BASE, read_json_lines

WINDOW_S = 10
BOUND_S = 3


def booking(bid, event_id, count, ts, **extra):
    rec = {"booking_id": bid, "event_id": event_id, "user_id": "u-" + bid,
           "ticket_count": count, "timestamp": ts}
    rec.update(extra)
    return json.dumps(rec)


# (line, note). Watermark = max timestamp so far - 3 s.
LINES = [
    (booking("b1", 1, 2, BASE + 0.0), "W0 ev1"),
    (booking("b2", 1, 3, BASE + 9.999), "W0 ev1, fractional"),
    (booking("b3", 1, 1, BASE + 10.0), "W10 ev1: window end is exclusive"),
    (booking("b4", 2, 5, BASE + 4.5), "W0 ev2"),
    (booking("b5", 1, 1, BASE + 12), "W10 ev1; watermark 9 -> W0 still open"),
    (booking("b6", 2, 7, BASE + 9.5), "W0 ev2, 2.5 s out of order (< bound): counted"),
    (booking("b7", 3, 1, BASE + 25), "W20 ev3; watermark 22 -> W0, W10 fire"),
    (booking("late1", 1, 100, BASE + 8), "late: W0 already fired -> dropped"),
    (booking("late2", 2, 50, BASE + 19), "late: 6 s behind max (> bound), W10 fired -> dropped"),
    (booking("b10", 3, 2, BASE + 22.5), "W20 ev3, behind max but within bound: counted"),
    (json.dumps({"type": "heartbeat", "timestamp": BASE + 24}),
     "clock tick (analytics-clock in the real job, same source): moves the watermark only, "
     "neither counted nor dead-lettered"),
    # bad records: never stop the job, never in a total
    ("this is not json", "non-JSON: skipped by the format"),
    ('{"booking_id": "trunc", "event_id": 1', "truncated JSON: skipped by the format"),
    (booking("neg", 3, -4, BASE + 23), "DLQ: ticket_count < 1"),
    (booking("zero", 3, 0, BASE + 23), "DLQ: ticket_count < 1"),
    (booking("big", 3, 1001, BASE + 23), "DLQ: ticket_count > max_tickets"),
    (booking("str", 3, "abc", BASE + 23), "DLQ: wrong type -> NULL"),
    (booking("huge", 3, 10**30, BASE + 23), "DLQ: does not fit BIGINT -> NULL"),
    (json.dumps({"booking_id": "noev", "ticket_count": 1, "timestamp": BASE + 23}),
     "DLQ: missing event_id"),
    (json.dumps({"booking_id": "nots", "event_id": 3, "ticket_count": 1}),
     "DLQ: missing timestamp"),
    ("{}", "DLQ: missing booking_id"),
    (booking("future", 3, 1, 7_258_118_400), "DLQ: year 2200; must NOT move the watermark"),
    (booking("b11", 3, 4, BASE + 24), "W20 ev3: counted only if 'future' did not move it"),
]

EXPECTED_RESULTS = [
    {"event_id": 1, "window_start": "2026-11-25T14:00:00Z", "window_end": "2026-11-25T14:00:10Z",
     "total_tickets": 5, "booking_count": 2},
    {"event_id": 1, "window_start": "2026-11-25T14:00:10Z", "window_end": "2026-11-25T14:00:20Z",
     "total_tickets": 2, "booking_count": 2},
    {"event_id": 2, "window_start": "2026-11-25T14:00:00Z", "window_end": "2026-11-25T14:00:10Z",
     "total_tickets": 12, "booking_count": 2},
    {"event_id": 3, "window_start": "2026-11-25T14:00:20Z", "window_end": "2026-11-25T14:00:30Z",
     "total_tickets": 7, "booking_count": 3},
]

EXPECTED_DLQ = {
    "neg": "ticket_count < 1",
    "zero": "ticket_count < 1",
    "big": "ticket_count > 1000",
    "str": "missing or invalid ticket_count",
    "huge": "missing or invalid ticket_count",
    "noev": "missing or invalid event_id",
    "nots": "missing or invalid timestamp",
    None: "missing or invalid booking_id",
    "future": "timestamp out of range",
}


@pytest.fixture(scope="module")
def job_output(tmp_path_factory):
    """Run the pipeline once; return (results, dead letters)."""
    import analytics_job as aj
    from pyflink.table import EnvironmentSettings, TableEnvironment

    root = tmp_path_factory.mktemp("analytics")
    src, out, dlq = root / "in", root / "results", root / "dlq"
    src.mkdir()
    (src / "bookings.json").write_text("\n".join(line for line, _ in LINES) + "\n")

    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "1")
    settings = aj.JobSettings(window_seconds=WINDOW_S, out_of_orderness_seconds=BOUND_S,
                              idle_timeout_seconds=1)
    file_json = {"connector": "filesystem", "format": "json"}
    t_env.execute_sql(aj.bookings_source_ddl(
        "src", {"connector": "filesystem", "path": str(src), **aj.json_format_options()},
        settings))
    t_env.execute_sql(aj.results_sink_ddl("res", {**file_json, "path": str(out)}))
    t_env.execute_sql(aj.dead_letter_sink_ddl("dlq", {**file_json, "path": str(dlq)}))

    aj.build_pipeline(t_env, "src", "res", "dlq", settings).execute().wait()
    return read_json_lines(out), read_json_lines(dlq)


def _key(r):
    return (r["event_id"], r["window_end"])


def test_exact_window_totals_in_event_time(job_output):
    results, _ = job_output
    assert sorted(results, key=_key) == EXPECTED_RESULTS


def test_one_record_per_event_and_window(job_output):
    results, _ = job_output
    keys = [_key(r) for r in results]
    assert len(keys) == len(set(keys))


def test_out_of_order_within_bound_is_counted(job_output):
    results, _ = job_output
    ev2_w0 = next(r for r in results if r["event_id"] == 2)
    assert (ev2_w0["total_tickets"], ev2_w0["booking_count"]) == (12, 2)


def test_late_events_beyond_watermark_are_dropped(job_output):
    results, dead = job_output
    assert sum(r["total_tickets"] for r in results) == 5 + 2 + 12 + 7
    # late events are dropped by the window, not dead-lettered: they were valid bookings
    assert not {"late1", "late2"} & {d["booking_id"] for d in dead}


def test_window_bounds_are_iso_utc_with_z(job_output):
    results, _ = job_output
    for r in results:
        for k in ("window_start", "window_end"):
            assert r[k].endswith("Z") and r[k][10] == "T" and len(r[k]) == 20


def test_heartbeat_is_neither_counted_nor_dead_lettered(job_output):
    results, dead = job_output
    assert {r["event_id"] for r in results} == {1, 2, 3}
    assert all(d["booking_id"] is not None or d["reason"] == "missing or invalid booking_id"
               for d in dead)
    assert sum(1 for d in dead if d["booking_id"] is None) == 1  # only the "{}" line


def test_bad_records_go_to_dead_letter_with_reason(job_output):
    _, dead = job_output
    assert {d["booking_id"]: d["reason"] for d in dead} == EXPECTED_DLQ
    assert len(dead) == len(EXPECTED_DLQ)
