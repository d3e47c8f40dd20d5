"""Every component is scraped (`up == 1`), each layer's own metrics are there, and one request's
log lines from every service that handled it come back from the logs store by its request id."""

from __future__ import annotations

import json
import time
import uuid

import requests

from sandbox.poll import until


def _query(env: dict, promql: str) -> list[dict]:
    answer = requests.get(f"{env['PROMETHEUS_URL']}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def test_every_target_is_up(env):
    def all_up():
        targets = requests.get(f"{env['PROMETHEUS_URL']}/api/v1/targets", params={"state": "active"}, timeout=5).json()
        active = targets["data"]["activeTargets"]
        return active if active and all(t["health"] == "up" for t in active) else None

    active = until(all_up, timeout=40, what="every target up", interval=2)
    jobs = {t["labels"]["job"] for t in active}
    assert {"aws", "kafka", "gateway", "postgres-exporter", "pushgateway", "hpa",
            "booking-service", "booking-consumer", "frontend", "event-catalog", "user-service"} <= jobs


def test_each_layer_exports_its_own_metrics(env):
    expected = {
        "services": 'sum by (service) (http_requests_total{namespace="ticketing"})',
        "kafka broker (JMX agent)": 'kafka_server_brokertopicmetrics_count{name="MessagesInPerSec"}',
        "kafka consumer lag": 'kafka_consumergroup_lag{topic="ticket-bookings"}',
        "postgres": "pg_up == 1",
        "flink (pushed)": "flink_taskmanager_job_task_numRecordsInPerSecond",
        "gateway": "haproxy_frontend_http_requests_total",
        "aws emulator": "aws_requests_total",
        "replicas": 'kube_deployment_status_replicas{namespace="ticketing"}',
    }

    def absent() -> dict:
        return {name: promql for name, promql in expected.items() if not _query(env, promql)}

    # a scrape or two after `up` each has its series; the lag needs the consumer group's first commit
    for _ in range(15):
        if not absent():
            return
        time.sleep(2)
    assert not absent(), f"no series for {absent()}"


def test_a_request_id_finds_the_lines_of_every_service_that_handled_it(env):
    request_id = f"obs-{uuid.uuid4().hex}"
    answer = requests.get(f"{env['FRONTEND_URL']}/api/events", headers={"X-Request-ID": request_id}, timeout=10)
    assert answer.status_code == 200

    def lines():
        response = requests.get(f"{env['LOGS_URL']}/select/logsql/query",
                                params={"query": f'request_id:"{request_id}"', "limit": 100}, timeout=5)
        response.raise_for_status()
        rows = [json.loads(line) for line in response.text.splitlines() if line]
        components = {row.get("component") for row in rows}
        return rows if {"frontend", "event-catalog"} <= components else None

    rows = until(lines, timeout=20, what=f"the lines of request {request_id} in the logs store", interval=1)
    for row in rows:
        assert row.get("pod"), f"no pod label on {row}"
        assert row.get("level"), f"no level on {row}"
