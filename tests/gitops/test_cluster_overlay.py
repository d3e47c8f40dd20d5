"""The cluster overlay (`sandbox up --cluster`): the aws overlay's workload with the sandbox's
endpoints at the node's address, locally built images that are never pulled and the sandbox's test
credentials, and no other difference; its app-of-apps syncs from the repository the sandbox serves."""

from __future__ import annotations

import base64
import re
from urllib.parse import urlsplit

import yaml
from moto.core import DEFAULT_ACCOUNT_ID

from sandbox.settings import ClusterSettings, Ports, PostgresSettings
from tests.gitops.conftest import ROOT, render

CLUSTER = ClusterSettings()  # defaults: the cluster's addresses are the same for every instance
PORTS = Ports()  # the default ports, which the sandbox forwards from the node's address
NODE = CLUSTER.node_address
OVERLAY = ROOT / "gitops" / "overlays" / "cluster"
ARGOCD = ROOT / "gitops" / "argocd"
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}


def pod_specs(objs):
    for o in objs:
        if o["kind"] in POD_TEMPLATE_KINDS:
            yield o, o["spec"]["template"]["spec"]
        elif o["kind"] == "CronJob":
            yield o, o["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def containers(spec):
    return spec.get("initContainers", []) + spec["containers"]


def one(objs, kind, prefix):
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"].startswith(prefix)]
    assert len(found) == 1, f"{kind} {prefix}*: {[o['metadata']['name'] for o in found]}"
    return found[0]


def endpoints(objs) -> dict[str, str]:
    return one(objs, "ConfigMap", "ticketing-endpoints")["data"]


def secrets(objs) -> dict[str, dict[str, str]]:
    return {o["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in o.get("data", {}).items()}
            for o in objs if o["kind"] == "Secret"}


def sandbox_workspace_names() -> dict[str, str]:
    """Bucket, table and region as terraform/aws outputs them in workspace sandbox on the emulator
    (moto's default account), computed from the .tf locals and the tfvars."""
    tfvars = (ROOT / "terraform" / "aws" / "env" / "sandbox.tfvars").read_text()
    var = dict(re.findall(r'^(\w+)\s*=\s*"([^"]*)"', tfvars, re.M))
    main = (ROOT / "terraform" / "aws" / "main.tf").read_text()

    def local(name: str) -> str:
        m = re.search(rf'^\s*{name}\s*=\s*"([^"]+)"', main, re.M)
        assert m, f"local.{name} not in terraform/aws/main.tf"
        return (m.group(1).replace("${var.name_prefix}", var["name_prefix"])
                .replace("${local.account_id}", DEFAULT_ACCOUNT_ID))

    return {"RAW_DATA_BUCKET": local("raw_data_bucket"), "USERS_TABLE": local("users_table"),
            "AWS_DEFAULT_REGION": var["aws_region"], "DB_NAME": PostgresSettings().database}


# ------------------------------------------------------------------------------------------ workload
def test_every_container_and_init_container_never_pulls(cluster_objects):
    """No registry: images are loaded into the node's runtime, a pull could only fail."""
    seen = 0
    for obj, spec in pod_specs(cluster_objects):
        for c in containers(spec):
            seen += 1
            assert c.get("imagePullPolicy") == "Never", f"{obj['kind']} {obj['metadata']['name']}/{c['name']}"
    assert seen


def test_images_are_the_local_builds_of_the_overlay_tags(cluster_objects):
    """ticketing/<svc>:<tag> with no registry part, <tag> the overlay's `images:` entry (what the
    sandbox builds from services/<svc>/Dockerfile and loads), never latest."""
    pinned = {i["name"]: i["newTag"] for i in yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())["images"]}
    used = set()
    for obj, spec in pod_specs(cluster_objects):
        for c in containers(spec):
            m = re.fullmatch(r"(ticketing/([a-z0-9-]+)):([\w.-]+)", c["image"])
            assert m, f"{obj['metadata']['name']}/{c['name']}: {c['image']} is not ticketing/<svc>:<tag>"
            name, service, tag = m.groups()
            assert tag != "latest" and tag == pinned.get(name), f"{c['image']}: overlay pins {pinned.get(name)}"
            assert (ROOT / "services" / service / "Dockerfile").is_file(), f"{c['image']}: no services/{service}/Dockerfile"
            used.add(name)
    assert used == set(pinned), f"images: entries no container uses: {set(pinned) - used}"


def test_endpoints_are_at_the_node_address_on_the_default_ports(cluster_objects):
    """Every endpoint is the node's address (the infrastructure stays outside the cluster); every
    other key is a name. A new key fails here until it is classified."""
    expected = {
        "KAFKA_BROKERS": f"{NODE}:{CLUSTER.ports.kafka_pods}",  # the broker's own listener for pods
        "DB_HOST": NODE,
        "DB_PORT": str(PORTS.postgres),
        "AWS_ENDPOINT_URL": f"http://{NODE}:{PORTS.aws}",
        "STORAGE_EMULATOR_HOST": f"http://{NODE}:{PORTS.gcs}",
        "FLINK_REST_URL": f"http://{NODE}:{PORTS.flink_rest}",
    } | sandbox_workspace_names()
    assert endpoints(cluster_objects) == expected


def test_names_and_credentials_are_the_sandboxs(cluster_objects, sandbox_objects):
    """Bucket, table, region and database as overlays/sandbox has them; the same test credentials
    (sandbox.toml's Postgres user, the emulator's test keys), under the plain names the base uses."""
    names = sandbox_workspace_names()
    assert {k: endpoints(sandbox_objects)[k] for k in names} == names
    pg = PostgresSettings()
    assert secrets(cluster_objects) == secrets(sandbox_objects) == {
        "ticketing-db": {"DB_USER": pg.user, "DB_PASSWORD": pg.password},
        "ticketing-aws": {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"},
    }


def test_no_irsa_and_no_storage_a_provisioner_would_need(cluster_objects):
    for o in cluster_objects:
        assert not [a for a in o["metadata"].get("annotations", {}) if a.startswith("eks.amazonaws.com/")], o["metadata"]
        assert o["kind"] not in {"PersistentVolumeClaim", "PersistentVolume", "StorageClass"}, o["metadata"]["name"]
    for obj, spec in pod_specs(cluster_objects):
        assert "volumeClaimTemplates" not in obj["spec"]
        for v in spec.get("volumes", []):
            assert set(v) - {"name"} <= {"emptyDir", "configMap", "secret", "projected"}, f"{obj['metadata']['name']}: {v}"


# ---------------------------------------------------------------------------------- cluster vs aws
def _by_name(objs) -> dict[tuple[str, str], dict]:
    """Objects by (kind, name), with the hash suffix of generated ConfigMap names dropped both from
    the names and from every reference to them (envFrom), so that data, not hashes, is compared."""
    unhashed = {}
    for o in objs:
        m = re.fullmatch(r"(.+)-[a-z0-9]{10}", o["metadata"]["name"])
        if o["kind"] == "ConfigMap" and m:
            unhashed[o["metadata"]["name"]] = m.group(1)

    def walk(x):
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return unhashed.get(x, x) if isinstance(x, str) else x

    return {(o["kind"], unhashed.get(o["metadata"]["name"], o["metadata"]["name"])): walk(o) for o in objs}


def differences(a, b, path=()):
    """Paths (tuples of keys and indexes) where a and b differ; a key missing on one side is one path."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in a and k in b:
                yield from differences(a[k], b[k], (*path, k))
            else:
                yield (*path, k)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from differences(x, y, (*path, i))
    elif a != b:
        yield path


def _allowed(kind: str, name: str, path: tuple) -> bool:
    if (kind, name) == ("ConfigMap", "ticketing-endpoints"):
        return path[:1] == ("data",)  # endpoints (and names: the sandbox's bucket and table)
    if kind == "ServiceAccount":  # IRSA: only aws annotates (the role ARN from terraform outputs)
        return path in {("metadata", "annotations"), ("metadata", "annotations", "eks.amazonaws.com/role-arn")}
    if kind == "Deployment":  # ECR vs local image, IfNotPresent vs Never; CPU requests sized for one small node
        return (path[:3] == ("spec", "template", "spec") and len(path) >= 6
                and path[3] in {"containers", "initContainers"}
                and (path[5:] in {("image",), ("imagePullPolicy",)} or path[5:] == ("resources", "requests", "cpu")))
    return False


def test_cluster_differs_from_aws_only_in_endpoints_images_credentials_and_irsa(aws_objects, cluster_objects):
    """The two render the same objects, the Secrets aside (aws creates ticketing-db from Secrets
    Manager; its terraform-outputs ConfigMap is local-config, never rendered), and the same fields,
    but for endpoint data, image and pull policy, aws's IRSA annotations, and the CPU requests
    (the size of one node of a 2-core machine: see the overlay)."""
    aws, cluster = _by_name(aws_objects), _by_name(cluster_objects)
    assert set(aws) - set(cluster) == set()
    assert set(cluster) - set(aws) == {("Secret", "ticketing-db"), ("Secret", "ticketing-aws")}
    assert not [o for o in aws_objects if o["metadata"]["name"] == "terraform-outputs"]
    unexpected = [f"{kind}/{name}: {'/'.join(map(str, path))}"
                  for (kind, name), obj in aws.items() if (kind, name) in cluster
                  for path in differences(obj, cluster[(kind, name)]) if not _allowed(kind, name, path)]
    assert not unexpected, "cluster differs from aws beyond endpoints/images/credentials/IRSA:\n" + "\n".join(unexpected)
    annotated = {name for (kind, name), o in aws.items()
                 if kind == "ServiceAccount" and "eks.amazonaws.com/role-arn" in o["metadata"].get("annotations", {})}
    assert annotated and all("annotations" not in cluster[("ServiceAccount", n)]["metadata"] for n in annotated)


# ---------------------------------------------------------------------------------------- ArgoCD
def _applications(env: str) -> dict[str, dict]:
    return {a["metadata"]["name"]: a for a in render(ARGOCD / "overlays" / env) if a["kind"] == "Application"}


def test_root_syncs_the_cluster_app_of_apps_from_the_served_repository():
    root = yaml.safe_load((ARGOCD / "bootstrap" / "root-cluster.yaml").read_text())
    source = root["spec"]["source"]
    url = urlsplit(source["repoURL"])
    assert (url.scheme, url.hostname, url.port) == ("git", NODE, 9418), source["repoURL"]  # git daemon
    assert re.fullmatch(r"/[\w.-]+\.git", url.path), url.path
    assert source["targetRevision"] == "HEAD"  # the served repository's checked-out branch
    assert source["path"] == "gitops/argocd/overlays/cluster" and (ROOT / source["path"]).is_dir()
    assert root["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}


def test_cluster_children_are_the_sandboxs_from_the_served_repository():
    """The sandbox's app-of-apps but for the platform charts (internet Helm repositories, too heavy
    for the one-node cluster: the sandbox runs Prometheus, Perses and VictoriaLogs natively),
    automated with prune and selfHeal; all from this repository, with the root's URL and revision,
    the workload from the cluster overlay."""
    root = yaml.safe_load((ARGOCD / "bootstrap" / "root-cluster.yaml").read_text())["spec"]["source"]
    apps, sandbox = _applications("cluster"), _applications("sandbox")
    charts = {name for name, app in sandbox.items() if "chart" in app["spec"]["source"]}
    assert charts == {"kube-prometheus-stack", "perses", "victoria-logs", "victoria-logs-collector"}
    assert set(apps) == set(sandbox) - charts
    for name, app in apps.items():
        assert app["spec"]["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}, name
        source = app["spec"]["source"]
        assert (source["repoURL"], source["targetRevision"]) == (root["repoURL"], root["targetRevision"]), name
        assert (ROOT / source["path"]).is_dir(), f"{name}: {source['path']}"
        rest = [p for p in differences(sandbox[name], app) if p not in {("spec", "source", "repoURL"), ("spec", "source", "path")}]
        assert not rest, f"{name} differs from the sandbox's in {rest}"
    assert apps["ticketing"]["spec"]["source"]["path"] == "gitops/overlays/cluster"


def test_the_services_at_their_minimum_fit_on_one_two_core_node(cluster_objects):
    """Every Deployment at its HPA minimum (else its replicas) requests at most one core in all,
    so the scheduler places them on the sandbox's single node, with room for the HPA to scale."""
    def millis(cpu: str) -> int:
        return int(cpu[:-1]) if cpu.endswith("m") else int(float(cpu) * 1000)

    minimum = {o["spec"]["scaleTargetRef"]["name"]: o["spec"]["minReplicas"]
               for o in cluster_objects if o["kind"] == "HorizontalPodAutoscaler"}
    total = sum(minimum.get(o["metadata"]["name"], o["spec"].get("replicas", 1))
                * sum(millis(c["resources"]["requests"]["cpu"]) for c in o["spec"]["template"]["spec"]["containers"])
                for o in cluster_objects if o["kind"] == "Deployment")
    assert total <= 1000, f"{total}m of CPU requested at the minimum"
