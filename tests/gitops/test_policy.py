"""Our own policy rules on the rendered workload overlays (both sandbox and aws)."""

import pytest

HPA_REQUIRED = {"booking-service", "user-service"}


def of_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def containers(dep, init=True):
    spec = dep["spec"]["template"]["spec"]
    return (spec.get("initContainers", []) if init else []) + spec["containers"]


def test_http_containers_probe_health_and_ready(workload):
    for dep in of_kind(workload, "Deployment"):
        for c in containers(dep, init=False):
            if not any(p.get("name") == "http" for p in c.get("ports", [])):
                assert dep["metadata"]["name"] == "analytics-job", f"{c['name']} has no http port"
                continue
            assert c["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}, c["name"]
            assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}, c["name"]


def test_requests_and_limits(workload):
    for dep in of_kind(workload, "Deployment"):
        for c in containers(dep):
            r = c.get("resources", {})
            for part in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(r.get(part, {})), f"{dep['metadata']['name']}/{c['name']} {part}"


def test_container_security_context(workload):
    for dep in of_kind(workload, "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod.get("automountServiceAccountToken") is False
        for c in containers(dep):
            sc = c["securityContext"]
            name = f"{dep['metadata']['name']}/{c['name']}"
            assert sc["runAsNonRoot"] is True, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"], name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert "privileged" not in sc or sc["privileged"] is False, name


def test_no_latest_or_untagged_images(workload):
    for dep in of_kind(workload, "Deployment"):
        for c in containers(dep):
            image = c["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2]
            assert tag and tag != "latest", f"{c['name']}: {image}"


def test_pdb_per_deployment(workload):
    pdbs = of_kind(workload, "PodDisruptionBudget")
    for dep in of_kind(workload, "Deployment"):
        labels = dep["spec"]["template"]["metadata"]["labels"]
        matching = [p for p in pdbs
                    if p["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(matching) == 1, dep["metadata"]["name"]


def test_network_policies(workload):
    nps = of_kind(workload, "NetworkPolicy")
    default = [n for n in nps if n["spec"]["podSelector"] == {} and "Ingress" in n["spec"]["policyTypes"]
               and not n["spec"].get("ingress")]
    assert default, "a default-deny ingress policy"
    for dep in of_kind(workload, "Deployment"):
        labels = dep["spec"]["template"]["metadata"]["labels"]
        own = [n for n in nps if n["spec"]["podSelector"].get("matchLabels")
               and n["spec"]["podSelector"]["matchLabels"].items() <= labels.items()]
        assert own, f"no NetworkPolicy selects {dep['metadata']['name']}"


@pytest.mark.parametrize("name", sorted(HPA_REQUIRED))
def test_hpa_cpu_2_to_10(workload, name):
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(workload, "HorizontalPodAutoscaler")}
    hpa = hpas[name]
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 10)
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Resource"] == ["cpu"]
    dep = next(d for d in of_kind(workload, "Deployment") if d["metadata"]["name"] == name)
    assert "replicas" not in dep["spec"], "HPA targets must not set replicas (ArgoCD would fight the HPA)"


def test_hpa_targets_set_no_replicas(workload):
    """Every Deployment an HPA scales leaves `replicas` to it: a manifest value would reset the
    HPA's scale on every apply or ArgoCD sync (so no ignoreDifferences is needed either)."""
    deps = {d["metadata"]["name"]: d for d in of_kind(workload, "Deployment")}
    hpas = of_kind(workload, "HorizontalPodAutoscaler")
    assert hpas
    for hpa in hpas:
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deps, target
        assert "replicas" not in deps[target["name"]]["spec"], target["name"]


def test_services_have_named_http_port_matching_a_container(workload):
    deps = {d["metadata"]["name"]: d for d in of_kind(workload, "Deployment")}
    for svc in of_kind(workload, "Service"):
        ports = svc["spec"]["ports"]
        assert [p["name"] for p in ports] == ["http"], svc["metadata"]["name"]
        dep = deps[svc["metadata"]["name"]]
        cports = {p["name"]: p["containerPort"] for c in containers(dep, init=False) for p in c.get("ports", [])}
        assert ports[0]["targetPort"] == "http" and ports[0]["port"] == cports["http"]


def test_service_monitor_per_service(workload):
    monitored = {m["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
                 for m in of_kind(workload, "ServiceMonitor")}
    assert monitored == {s["metadata"]["name"] for s in of_kind(workload, "Service")}
    for m in of_kind(workload, "ServiceMonitor"):
        assert m["spec"]["endpoints"][0]["port"] == "http" and m["spec"]["endpoints"][0]["path"] == "/metrics"


def test_env_only_from_configmap_and_secret_refs(workload):
    """Endpoints and credentials come from ConfigMap/Secret refs, never literals in a Deployment."""
    literal_ok = {"PORT", "HOST", "PROMETHEUS_MULTIPROC_DIR", "HOME"}
    names = {(o["kind"], o["metadata"]["name"]) for o in workload}
    for dep in of_kind(workload, "Deployment"):
        for c in containers(dep):
            assert {e["name"] for e in c.get("env", [])} <= literal_ok, c["name"]
            for ref in c.get("envFrom", []):
                kind, r = ("ConfigMap", ref["configMapRef"]) if "configMapRef" in ref else ("Secret", ref["secretRef"])
                if r.get("optional") or (kind, r["name"]) == ("Secret", "ticketing-db"):
                    continue  # aws: ticketing-db is created from Secrets Manager, not from git
                assert (kind, r["name"]) in names, f"{c['name']}: {kind} {r['name']} not rendered"


def test_sandbox_endpoints_in_one_configmap(sandbox_objects):
    cms = [o for o in sandbox_objects if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("ticketing-endpoints")]
    assert len(cms) == 1
    data = cms[0]["data"]
    assert data["KAFKA_BROKERS"] == "host.k3d.internal:19092"
    assert data["AWS_ENDPOINT_URL"] == "http://host.k3d.internal:4566"
    assert {"DB_HOST", "DB_PORT", "DB_NAME", "RAW_DATA_BUCKET", "USERS_TABLE", "AWS_DEFAULT_REGION"} <= set(data)


def test_sandbox_deployments_carry_native_runtime_fields(sandbox_objects):
    """What the native runtime reads (gitops/README.md) is present and well-formed."""
    expected = {
        "frontend": (["python", "-m", "svc_common.serve", "frontend.app:create_app"], 8000, None),
        "booking-service": (["python", "-m", "svc_common.serve", "booking_service.app:create_app"], 8001,
                            ["python", "-m", "booking_service.migrate"]),
        "event-catalog": (["python", "-m", "svc_common.serve", "event_catalog.app:create_app"], 8002,
                          ["python", "-m", "event_catalog.migrate"]),
        "user-service": (["python", "-m", "svc_common.serve", "user_service.app:create_app"], 8003, None),
        "booking-consumer": (["python", "-m", "booking_consumer"], 8004, ["python", "-m", "booking_consumer.migrate"]),
    }
    deps = {d["metadata"]["name"]: d for d in sandbox_objects if d["kind"] == "Deployment"}
    for name, (cmd, port, migrate) in expected.items():
        spec = deps[name]["spec"]["template"]["spec"]
        main = next(c for c in spec["containers"] if c["name"] == name)
        assert main["command"] + main.get("args", []) == cmd
        assert main["workingDir"] == "/app"
        assert main["ports"][0] == {"name": "http", "containerPort": port, "protocol": "TCP"}
        assert {"name": "PORT", "value": str(port)} in main["env"]
        inits = spec.get("initContainers", [])
        assert [c["command"] for c in inits] == ([migrate] if migrate else [])
    assert deps["analytics-job"]["metadata"]["annotations"]["ticketing.dev/native-runtime"] == "component"
