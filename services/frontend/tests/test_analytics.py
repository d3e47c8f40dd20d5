"""Live analytics: the pure dedup store, the /api/analytics route, and the Kafka consumer (integration)."""
from __future__ import annotations

import json
import os
import uuid

import pytest
from frontend.analytics import AnalyticsStore, parse_result


def result(event_id=1, minute=0, total=5, count=2, **extra):
    return {"event_id": event_id, "window_start": f"2026-11-25T14:{minute:02d}:00Z",
            "window_end": f"2026-11-25T14:{minute + 1:02d}:00Z", "total_tickets": total,
            "booking_count": count, **extra}


def test_duplicates_keep_the_latest_record_per_event_and_window():
    store = AnalyticsStore()
    store.apply(json.dumps(result(total=5, count=2)).encode())
    store.apply(json.dumps(result(total=5, count=2)).encode())
    store.apply(json.dumps(result(total=7, count=3)).encode())  # same (event, window_end): replaces
    store.apply(result(minute=1, total=1, count=1))
    snapshot = store.snapshot()
    assert len(snapshot) == 1
    windows = snapshot[0]["windows"]
    assert [w["total_tickets"] for w in windows] == [1, 7]  # newest first, no summing
    assert snapshot[0]["latest"]["window_end"] == "2026-11-25T14:02:00Z"


def test_events_are_separate_and_filterable():
    store = AnalyticsStore()
    store.apply(result(event_id=2))
    store.apply(result(event_id=1))
    assert [e["event_id"] for e in store.snapshot()] == [1, 2]
    assert [e["event_id"] for e in store.snapshot(2)] == [2]


def test_only_the_newest_windows_are_kept():
    store = AnalyticsStore(windows_per_event=3)
    for minute in (5, 1, 3, 2, 4):
        store.apply(result(minute=minute, total=minute))
    assert [w["total_tickets"] for w in store.snapshot()[0]["windows"]] == [5, 4, 3]


@pytest.mark.parametrize("raw", [
    b"not json", b"[1, 2]", b"\xff\xfe", json.dumps({"event_id": 1}).encode(),
    json.dumps(result(total=-1)).encode(), json.dumps(result(event_id="x")).encode(),
    json.dumps(result() | {"window_end": "2026-11-25T13:00:00Z"}).encode(),
    json.dumps(result() | {"window_start": "yesterday"}).encode(),
    json.dumps(result(event_id=True)).encode(),
])
def test_bad_records_are_counted_and_ignored(raw):
    store = AnalyticsStore()
    assert store.apply(raw) is False
    assert store.rejected == 1 and store.snapshot() == []
    assert parse_result(raw) is None


def test_api_analytics_without_kafka(client):
    response = client.get("/api/analytics")
    assert response.status_code == 200
    assert response.get_json() == {"events": [], "consumer": {
        "state": "disabled", "reason": "KAFKA_BROKERS is not set", "topic": "analytics-results"}}


@pytest.mark.parametrize("query", ["abc", "0", "-3"])
def test_api_analytics_bad_event_id_is_400(client, query):
    response = client.get(f"/api/analytics?event_id={query}")
    assert response.status_code == 400 and response.get_json()["field"] == "event_id"


@pytest.mark.integration
def test_consumer_reads_committed_results_and_dedups(make_frontend):
    brokers = os.environ.get("KAFKA_BROKERS")
    if not brokers:
        pytest.skip("needs Kafka: KAFKA_BROKERS not set (run inside `sandbox env`)")
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    topic = f"test-analytics-results-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": brokers})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    try:
        producer = Producer({"bootstrap.servers": brokers, "transactional.id": f"test-{topic}"})
        producer.init_transactions(30)
        producer.begin_transaction()
        for record in (result(total=5), result(total=5), result(total=9, count=4), result(event_id=2, total=1, count=1)):
            producer.produce(topic, key=str(record["event_id"]), value=json.dumps(record))
        producer.produce(topic, value=b"not json")
        producer.commit_transaction(30)
        producer.begin_transaction()
        producer.produce(topic, key="1", value=json.dumps(result(minute=30, total=999)))
        producer.abort_transaction(30)  # read_committed: never visible

        app = make_frontend(KAFKA_BROKERS=brokers, ANALYTICS_TOPIC=topic)
        client = app.test_client()
        client.get("/api/analytics")  # starts the consumer lazily
        analytics = app.extensions["analytics"]
        assert analytics.wait_for(lambda snap: len(snap) == 2 and analytics.store.rejected == 1, timeout=30), analytics.status()
        body = client.get("/api/analytics").get_json()
        by_event = {e["event_id"]: e for e in body["events"]}
        assert [w["total_tickets"] for w in by_event[1]["windows"]] == [9]
        assert by_event[1]["latest"]["booking_count"] == 4
        assert by_event[2]["latest"]["total_tickets"] == 1
        assert body["consumer"]["state"] == "running"
        assert body["consumer"]["bad_records"] == 1
    finally:
        admin.delete_topics([topic])
