"""End to end through Kafka: the real Kafka tables, exactly-once sink, job in local mode.

Needs a broker at KAFKA_BROKERS (skips cleanly otherwise) and the Kafka SQL connector jar
(FLINK_CONNECTOR_JARS or <repo>/.cache/jars/flink/*.jar). Topics are unique per run.

Late-event dropping is covered by the file-based test: with Kafka the source emits watermarks
periodically (every 200 ms), so whether a record is late depends on poll batching.

Event time moves on as in the sandbox: clock ticks (heartbeat.py's payload) on a clock topic of
the test's own, never on the bookings topic; the booking partitions go idle after 1 s and the
clock, ticking on like the heartbeat (a lone tick would go idle with them), closes the windows.
The ticks start once the job has read every booking (its committed offsets say so): a split's
watermark counts only from that split's first record, so a tick read first could overtake them.
"""

import json
import threading
import time

import pytest
from analytics_testlib import (
    BASE,
    brokers_or_skip,
    consume_until,
    create_topics,
    produce,
    unique,
)

pytestmark = pytest.mark.integration

PARTITIONS = 3


def booking(bid, event_id, count, ts):
    return json.dumps({"booking_id": bid, "event_id": event_id, "user_id": "u",
                       "ticket_count": count, "timestamp": ts})


class _Clock:
    """heartbeat.py for the test: a round stamped ``ts`` on every partition of the clock topic every
    0.3 s, from a thread, while the ``with`` block runs."""

    def __init__(self, brokers, topic, ts):
        self.brokers, self.topic, self.ts = brokers, topic, ts
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        import heartbeat
        from confluent_kafka import Producer

        p = Producer({"bootstrap.servers": self.brokers, "linger.ms": 0})
        partitions = heartbeat.partitions_of(p, self.topic)
        while not self.stop.is_set():
            heartbeat.send_heartbeats(p, self.topic, partitions, now=self.ts)
            p.flush(10)
            self.stop.wait(0.3)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(15)


def _wait_read(brokers, group, topic, timeout_s=90):
    """Until the job's committed offsets (on each checkpoint) are the end of every partition of
    ``topic``: it has read every record written there so far."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False})
    try:
        parts = [TopicPartition(topic, p) for p in c.list_topics(topic, timeout=10).topics[topic].partitions]
        end = {tp.partition: c.get_watermark_offsets(tp, timeout=10)[1] for tp in parts}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(tp.offset == end[tp.partition] for tp in c.committed(parts, timeout=10)):
                return
            time.sleep(0.3)
    finally:
        c.close()
    raise AssertionError(f"the job did not read {topic} to its end in {timeout_s} s")


def _job_args(brokers, src, clock, out, dlq, group, tx):
    import analytics_job as aj

    return aj.parse_args([
        "--brokers", brokers, "--source-topic", src, "--clock-topic", clock,
        "--sink-topic", out, "--dlq-topic", dlq,
        "--group-id", group, "--transactional-id-prefix", tx,
        "--window-seconds", "10", "--out-of-orderness-seconds", "3",
        "--idle-timeout-seconds", "1", "--checkpoint-interval-ms", "500",
        "--parallelism", "1",
    ])


def _wait_running(job_client, timeout_s=30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if str(job_client.get_job_status().result()).endswith("RUNNING"):
            return
        time.sleep(0.2)
    raise AssertionError("job did not reach RUNNING")


@pytest.fixture(scope="module")
def kafka_run():
    import analytics_job as aj

    if not aj.connector_jars():
        pytest.skip("Kafka SQL connector jar not found")
    brokers = brokers_or_skip()
    src, out, dlq = unique("it-bookings"), unique("it-results"), unique("it-dlq")
    clock = unique("it-clock")
    create_topics(brokers, {src: PARTITIONS, clock: 1, out: 1, dlq: 1})

    records = [
        # W0 [14:00:00, 14:00:10): ev 10 -> 2+3+4 = 9 in 3 bookings, across partitions,
        # one of them out of order (8.5 after 9.9) within the 3 s bound
        (0, booking("k1", 10, 2, BASE + 1.25)),
        (1, booking("k2", 10, 3, BASE + 9.9)),
        (1, booking("k3", 10, 4, BASE + 8.5)),
        (2, booking("k4", 11, 6, BASE + 5)),
        # W10: ev 10 -> 1, ev 11 -> 5+5
        (0, booking("k5", 10, 1, BASE + 10)),
        (2, booking("k6", 11, 5, BASE + 12)),
        (2, booking("k7", 11, 5, BASE + 19.5)),
        # bad records: skipped or dead-lettered, the job keeps going
        (0, b"not json at all"),
        (1, booking("bad-neg", 10, -1, BASE + 12)),
        (1, booking("bad-huge", 10, 10**6, BASE + 12)),
    ]
    produce(brokers, src, records)

    group = unique("it-analytics")
    args = _job_args(brokers, src, clock, out, dlq, group, unique("it-tx"))
    started = time.monotonic()
    _, stmt = aj.build_kafka_job(args)
    result = stmt.execute()
    try:
        _wait_read(brokers, group, src)
        # close W0 and W10 without another booking: the booking partitions go idle after 1 s,
        # then the clock alone holds the watermark
        with _Clock(brokers, clock, BASE + 40):
            expected_keys = 4
            results = consume_until(
                brokers, out, lambda rs: len({(r["event_id"], r["window_end"]) for r in rs})
                >= expected_keys, timeout_s=90)
        visible_after = time.monotonic() - started
        dead = consume_until(brokers, dlq, lambda rs: len(rs) >= 2, timeout_s=20)
        # give a duplicate (if the sink produced one) a chance to show up
        time.sleep(1.5)
        results = consume_until(brokers, out, lambda rs: False, timeout_s=3)
    finally:
        result.get_job_client().cancel().result()
    print(f"results visible {visible_after:.1f} s after job start")
    return results, dead


def test_exact_totals_through_kafka_read_committed(kafka_run):
    results, _ = kafka_run
    got = {(r["event_id"], r["window_start"], r["window_end"]): (r["total_tickets"],
                                                                 r["booking_count"])
           for r in results}
    assert got == {
        (10, "2026-11-25T14:00:00Z", "2026-11-25T14:00:10Z"): (9, 3),
        (11, "2026-11-25T14:00:00Z", "2026-11-25T14:00:10Z"): (6, 1),
        (10, "2026-11-25T14:00:10Z", "2026-11-25T14:00:20Z"): (1, 1),
        (11, "2026-11-25T14:00:10Z", "2026-11-25T14:00:20Z"): (10, 2),
    }


def test_no_duplicates_with_read_committed(kafka_run):
    results, _ = kafka_run
    keys = [(r["event_id"], r["window_end"]) for r in results]
    assert len(keys) == len(set(keys))


def test_invalid_bookings_dead_lettered(kafka_run):
    _, dead = kafka_run
    assert sorted((d["booking_id"], d["reason"]) for d in dead) == [
        ("bad-huge", "ticket_count > 1000"), ("bad-neg", "ticket_count < 1")]


def test_stop_with_savepoint_mid_window_and_resume_keeps_exact_totals(tmp_path):
    """Issue 4 item 6: stop with a savepoint while a window is open, start again from it.

    Job 1 reads part 1, closes W0 (emits it) and holds a partial W10 in state; it is stopped
    with a savepoint. Part 2 is produced while nothing runs. Job 2 resumes from the savepoint
    (same group id and transactional-id prefix, as a real restart) and closes W10. Read with
    read_committed: W0 once (not re-emitted), W10 = part 1 + part 2, nothing lost or doubled.
    """
    import analytics_job as aj
    from pyflink.table import EnvironmentSettings, TableEnvironment

    if not aj.connector_jars():
        pytest.skip("Kafka SQL connector jar not found")
    brokers = brokers_or_skip()
    src, out, dlq = unique("rs-bookings"), unique("rs-results"), unique("rs-dlq")
    clock = unique("rs-clock")
    create_topics(brokers, {src: PARTITIONS, clock: 1, out: 1, dlq: 1})
    group = unique("rs-analytics")
    args = _job_args(brokers, src, clock, out, dlq, group, unique("rs-tx"))

    part1 = [
        (0, booking("p1", 30, 2, BASE + 1)),
        (1, booking("p2", 30, 3, BASE + 7)),
        (2, booking("p3", 30, 1, BASE + 11)),  # W10, partial at stop time
    ] + [(p, booking(f"adv{p}", 30, 4, BASE + 14)) for p in range(PARTITIONS)]  # wm 11: W0 fires
    part2 = [
        (1, booking("p4", 30, 5, BASE + 16)),
        (2, booking("p5", 30, 6, BASE + 19)),
    ]

    t0 = time.monotonic()

    def mark(what):
        print(f"[{time.monotonic() - t0:5.1f}s] {what}")

    produce(brokers, src, part1)
    _, stmt = aj.build_kafka_job(args)
    job1 = stmt.execute().get_job_client()
    _wait_running(job1)
    mark("job 1 running")
    w0 = consume_until(brokers, out, lambda rs: len(rs) >= 1, timeout_s=60)
    assert [(r["window_end"], r["total_tickets"]) for r in w0] == [("2026-11-25T14:00:10Z", 5)]
    mark("W0 visible")
    savepoint = job1.stop_with_savepoint(False, (tmp_path / "savepoints").as_uri()).result()
    mark("stopped with savepoint")

    produce(brokers, src, part2)
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("execution.savepoint.path", savepoint)
    _, stmt = aj.build_kafka_job(args, t_env)
    job2 = stmt.execute().get_job_client()
    try:
        _wait_read(brokers, group, src)
        mark("job 2 read part 2")
        with _Clock(brokers, clock, BASE + 40):  # closes W10 once the booking partitions are idle
            results = consume_until(
                brokers, out, lambda rs: any(r["window_end"] == "2026-11-25T14:00:20Z" for r in rs),
                timeout_s=60)
        mark("W10 visible after resume")
        time.sleep(1.5)  # room for a duplicate to show up, if there were one
        results = consume_until(brokers, out, lambda rs: False, timeout_s=3)
    finally:
        job2.cancel().result()
        mark("job 2 cancelled")
    got = sorted((r["event_id"], r["window_end"], r["total_tickets"], r["booking_count"])
                 for r in results)
    assert got == [
        (30, "2026-11-25T14:00:10Z", 5, 2),
        (30, "2026-11-25T14:00:20Z", 1 + 3 * 4 + 5 + 6, 6),
    ]
