"""Cluster mode, from outside: the cluster answers kubectl, its parts are healthy, the services run
as pods reaching the infrastructure outside the cluster, and only loopback is exposed."""

from __future__ import annotations

import json
import subprocess
import uuid

import psutil
import requests

from tests.cluster_mode.conftest import SANDBOX

SERVICES = ("frontend", "booking-service", "event-catalog", "user-service", "booking-consumer")
PARTS = ("cluster-network", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "containerd",
         "kubelet", "kube-proxy", "coredns", "metrics-server")


def test_kubectl_sees_a_ready_node_and_the_services_pods(kubectl):
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert [n["metadata"]["name"] for n in nodes] == ["sandbox-node"]
    ready = {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}["Ready"]
    assert ready == "True"
    pods = json.loads(kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    running = {p["metadata"]["labels"].get("app.kubernetes.io/name") for p in pods
               if p["metadata"]["namespace"] == "ticketing" and p["status"]["phase"] == "Running"}
    assert set(SERVICES) <= running


def test_status_lists_every_cluster_part_healthy():
    result = subprocess.run([*SANDBOX, "status", "--json"], capture_output=True, text=True, timeout=120)
    rows = {row["component"]: row for row in json.loads(result.stdout)}
    for name in (*PARTS, *SERVICES):
        assert rows[name]["healthy"], f"{name}: {rows[name]}"
    assert "gateway" not in rows  # the services are reached through the cluster, not HAProxy


def test_images_are_local_and_never_pulled(kubectl):
    pods = json.loads(kubectl("get", "pods", "-n", "ticketing", "-o", "json").stdout)["items"]
    for pod in pods:
        for container in [*pod["spec"].get("initContainers", []), *pod["spec"]["containers"]]:
            assert container["imagePullPolicy"] == "Never", container["name"]
            assert not container["image"].endswith(":latest")


def test_a_booking_goes_through_the_pods_to_kafka_and_postgres_outside(sandbox_env):
    from scenarios.lib.clients import Api

    api = Api(sandbox_env)
    assert api.list_events().status_code == 200
    event = api.create_event(capacity=5, name=f"cluster-{uuid.uuid4().hex[:8]}")
    attempt = api.book({"event_id": event["id"], "user_id": "cluster-test", "ticket_count": 2})
    assert attempt.booking_id, attempt.statuses
    final = api.wait_final(attempt.booking_id)
    assert final and final["status"] == "confirmed", final
    requests.delete(f"{sandbox_env['EVENT_SERVICE_URL']}/events/{event['id']}", timeout=10)


def test_pods_resolve_services_by_name(kubectl):
    pod = kubectl("get", "pods", "-n", "ticketing", "-l", "app.kubernetes.io/name=frontend", "-o",
                  "jsonpath={.items[0].metadata.name}").stdout
    answer = kubectl("exec", "-n", "ticketing", pod, "--", "python", "-c",
                     "import socket; print(socket.gethostbyname('event-catalog'))").stdout.strip()
    service = kubectl("get", "svc", "-n", "ticketing", "event-catalog", "-o", "jsonpath={.spec.clusterIP}").stdout
    assert answer == service


def test_nothing_of_the_sandbox_listens_beyond_loopback(state_dir):
    owner = str(state_dir.resolve())
    ours = set()
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.environ().get("SANDBOX_OWNER") == owner:
                ours.add(proc.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    host_ns = psutil.Process().pid
    exposed = []
    for conn in psutil.net_connections("inet"):  # this process's namespace: the host's
        if conn.status == psutil.CONN_LISTEN and conn.pid in ours and conn.laddr.ip not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            exposed.append((conn.pid, conn.laddr))
    assert host_ns and not exposed
