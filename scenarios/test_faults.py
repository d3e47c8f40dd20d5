"""Flow 5: faults lose and duplicate nothing, and outages stay contained. Each test holds the
component it kills exclusively (and what it needs shared, see conftest.py), injects one fault on
loopback processes only, heals with the target (`sandbox up --only` what the fault can take down,
so a fault test running at the same time on a disjoint component keeps its own evidence), and
checks the history like Jepsen's queue workload (lib/checkers.py). Meanwhile a probe reads
`GET /api/events` and the page through the gateway every 0.1 s: both must answer 200 throughout
(the catalog answers its last good page while Postgres is down), every booking answer must be 202
or a retryable 503, and every error answer of either is JSON of the one error shape."""

from __future__ import annotations

import time
import uuid

import pytest

from scenarios.lib import analytics as A
from scenarios.lib.clients import AnalyticsReader
from scenarios.lib.faults import (
    BookingStream,
    ReadProbe,
    UnseenSampler,
    answers_summary,
    error_shape_problems,
    final_check,
    wait_dead,
)

pytestmark = pytest.mark.validated("sandbox")

# what `sandbox up` restarts/re-checks after each fault: the killed component and what its death
# can take down with it (None: everything, for the Kafka fault, which runs alone anyway)
HEAL = {
    "kafka": None,
    "postgres": ["postgres", "event-catalog", "booking-service", "booking-consumer"],
    "booking-consumer": ["booking-consumer"],
    "flink": ["flink", "analytics"],
    "kubelet": ["kubelet"],
}


def _booking_fault(component, target, endpoints, db, kafka, new_event, uid, record_property,
                   index=0, outage_s=2.0, after_s=2.0):
    event = new_event(1_000_000)
    status_before = kafka.end_offsets("booking-status")
    # ~25 bookings/s in total, bounded to 2,000 attempts; keeps going through the fault and after healing
    stream = BookingStream(endpoints, event["id"], uid, workers=4, max_n=2000, pace_s=0.15).start()
    sampler = UnseenSampler(db, event["id"], stream).start()
    reads = ReadProbe(endpoints).start()
    series: list[int] = []
    read_answers: list[dict] = []
    try:
        time.sleep(1.5)  # bookings flowing, and the reads (both catalog replicas have answered the list)
        accepted_before = len(stream.accepted_ids())
        t0 = time.monotonic()
        pids = target.kill(component, index)
        dead = wait_dead(target, component)
        time.sleep(max(0.0, outage_s - (time.monotonic() - t0)))
        healed = target.heal(HEAL[component])
        heal_s = time.monotonic() - t0
        time.sleep(after_s)  # bookings keep flowing after healing
    finally:
        stream.stop()
        series = sampler.stop()
        read_answers = reads.stop()
    result = final_check(db, kafka, stream, event["id"], status_before, series)
    booking_failures = [f for a in stream.attempts for f in a.failures]
    booking_statuses = _status_histogram(stream)
    shape_problems = error_shape_problems(read_answers + booking_failures)
    measured = {**result.as_dict(), "killed_pids": pids, "accepted_before_fault": accepted_before,
                "status_after_kill": dead, "healed_ok": healed.ok, "fault_to_healed_s": round(heal_s, 1),
                "heal_actions": dict(target.last_heal_actions),
                "http_statuses": booking_statuses,
                "booking_failure_max_s": max((f["seconds"] for f in booking_failures), default=0.0),
                "booking_failure_bodies": sorted({str(f["body"])[:160] for f in booking_failures})[:5],
                "reads_during_fault": answers_summary(read_answers, t0, t0 + heal_s),
                "reads": answers_summary(read_answers), "error_shape_problems": shape_problems[:5]}
    record_property("checker", measured)
    print(f"{component} checker: {measured}")
    assert not dead["status_ok"] and not dead["component_healthy"], f"status never showed {component} dead: {dead}"
    _assert_healed(healed, HEAL[component])
    assert result.accepted > accepted_before > 0
    assert result.valid, measured
    assert result.details["status_unpublished"] == 0, measured
    # contained: reads never fail, a booking is accepted or refused retryably, every error is the one shape
    assert not shape_problems, shape_problems[:5]
    assert measured["reads_during_fault"] and all(a["status"] == 200 for a in read_answers), measured["reads"]
    assert set(booking_statuses) <= {"202", "503"}, booking_statuses


def _assert_healed(healed, components) -> None:
    ok = healed.ok if components is None else all(healed.healthy(c) for c in components if c in healed.rows)
    assert ok, {c: r["health"] for c, r in healed.rows.items() if not r["healthy"]}


def _status_histogram(stream) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in stream.attempts:
        for s in a.statuses:
            out[str(s)] = out.get(str(s), 0) + 1
    return out


@pytest.mark.fault("kafka")
@pytest.mark.uses("postgres", "booking-consumer")
def test_kafka_broker_killed_during_bookings(target, endpoints, db, kafka, new_event, uid, record_property):
    _booking_fault("kafka", target, endpoints, db, kafka, new_event, uid, record_property)


@pytest.mark.fault("postgres")
@pytest.mark.uses("kafka", "booking-consumer")
def test_postgres_killed_during_bookings(target, endpoints, db, kafka, new_event, uid, record_property):
    _booking_fault("postgres", target, endpoints, db, kafka, new_event, uid, record_property)


@pytest.mark.fault("booking-consumer")
@pytest.mark.uses("kafka", "postgres")
def test_booking_consumer_killed_mid_batch(target, endpoints, db, kafka, new_event, uid, record_property):
    # every replica of the consumer at once, so no other instance takes the batch over
    _booking_fault("booking-consumer", target, endpoints, db, kafka, new_event, uid, record_property,
                   index=None, outage_s=0.0, after_s=2.0)


@pytest.mark.fault("kubelet")
@pytest.mark.uses("kafka", "postgres", "booking-consumer")
@pytest.mark.validated("cluster")
def test_kubelet_killed_while_its_pods_serve(target, endpoints, db, kafka, new_event, uid, record_property):
    """Cluster mode: kill -9 of the node's kubelet. Its pods keep running and serving (the kubelet
    supervises them, it does not carry their traffic); `sandbox up` starts it again and the node
    is Ready; every booking is accounted for and the reads never fail."""
    if target.name != "cluster":
        pytest.skip("the kubelet exists only in cluster mode (SCENARIO_TARGET=cluster)")
    _booking_fault("kubelet", target, endpoints, db, kafka, new_event, uid, record_property)


@pytest.mark.fault("flink")
@pytest.mark.uses("kafka")
def test_flink_job_cancel_resubmit_and_taskmanager_kill_keep_window_totals(
        target, kafka, uid, window_seconds, record_property, share_lock):
    size = window_seconds
    # the job aggregates whatever event id it reads; one no catalog event has (ids are serial) keeps
    # this test's windows its own without needing Postgres, so it can overlap the booking faults
    eid = 10**12 + uuid.uuid4().int % 10**11
    reader = AnalyticsReader(kafka, {eid})
    sent: list[dict] = []
    evidence: dict = {}

    def send(counts, tag):
        batch = A.bookings_now(eid, counts, f"{uid}-{tag}")
        A.produce(kafka, batch)
        sent.extend(batch)

    try:
        reader.poll(1.0)
        # the first batch's window must still be open when the savepoint is taken (~1-2 s later,
        # and it closes 2 s after its end): the savepoint then carries window state
        A.wait_for_fresh_window(size, need=size * 0.4)
        send([1, 2, 3], "before-cancel")
        t0 = time.monotonic()
        evidence["cancel"] = target.stop_analytics_job()          # with a savepoint
        evidence["cancel_s"] = round(time.monotonic() - t0, 1)
        send([4, 5], "while-cancelled")
        # `status` may serve the monitor's result from just before the cancel: poll (bounded)
        evidence["status_while_cancelled"] = wait_dead(target, "analytics")
        t0 = time.monotonic()
        evidence["submit"] = target.start_analytics_job()         # resumes from the savepoint
        evidence["submit_s"] = round(time.monotonic() - t0, 1)
        send([1, 1], "after-resubmit")

        t0 = time.monotonic()
        evidence["killed_taskmanager"] = target.kill("flink", 1)
        dead = wait_dead(target, "flink")
        send([2, 2, 2], "taskmanager-dead")
        healed = target.heal(HEAL["flink"])
        evidence["taskmanager_heal_s"] = round(time.monotonic() - t0, 1)
        evidence["heal_actions"] = dict(target.last_heal_actions)
        send([3], "after-heal")
        share_lock("flink")  # faults done; tests that only read the job's windows may run now

        expected = A.expected_results(sent, size)
        reader.wait_for(expected, deadline_s=size + 60)
        actual = A.actual_results(reader, {eid})
        conflicting = {str(k): v for k, v in reader.history.items() if len(set(v)) > 1}
        measured = {"expected": {f"{k[1]}": v for k, v in expected.items()},
                    "actual": {f"{k[1]}": v for k, v in actual.items()},
                    "raw_results": reader.raw_count, "conflicting_windows": conflicting,
                    "lost_windows": len(set(expected) - set(actual)), "status_after_tm_kill": dead,
                    "healed_ok": healed.ok, **evidence}
    finally:
        reader.close()
    record_property("checker", measured)
    print(f"flink checker: {measured}")
    cancelled = evidence["status_while_cancelled"]
    assert not cancelled["status_ok"] and not cancelled["component_healthy"], cancelled
    assert not dead["status_ok"] and not dead["component_healthy"], dead
    _assert_healed(healed, HEAL["flink"])
    assert not conflicting
    assert actual == expected
