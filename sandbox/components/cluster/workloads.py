"""The services in cluster mode: the Deployments of gitops/overlays/cluster, run by the cluster.

`gitops` (a task) builds each service's image from its Dockerfile with the docker runtime's
builder (its input-hash cache), loads it into the cluster's containerd under the overlay's exact
reference (no registry, no pull: imagePullPolicy Never), and applies the overlay. Each service is
then a component whose runtime is the cluster (sandbox/runtimes/cluster.py): healthy when its
Deployment is rolled out, reached on 127.0.0.1:<its port>, forwarded to its Service's ClusterIP.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from functools import cached_property
from pathlib import Path

import yaml

from sandbox.cluster import images
from sandbox.cluster.context import ClusterContext
from sandbox.components.base import Component, Kind
from sandbox.components.cluster.node import Containerd
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.manifests import GITOPS, Workload, kustomize_binary, service_port, url_names

OVERLAY = GITOPS / "overlays" / "cluster"
NAMESPACE = "ticketing"


def render_overlay() -> list[dict]:
    result = subprocess.run([kustomize_binary(), "build", str(OVERLAY)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SandboxError(f"kustomize build {OVERLAY} failed: {result.stderr.strip()[-300:]}", "make gitops-check")
    return [doc for doc in yaml.load_all(result.stdout, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) if doc]


def overlay_images(objects: list[dict]) -> dict[str, str]:
    """service folder -> the image reference its Deployment runs (ticketing/<svc>:<tag>)."""
    refs: dict[str, str] = {}
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        pod = obj["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            repo = container["image"].rsplit(":", 1)[0]
            refs[repo.split("/")[-1]] = container["image"]
    return refs


class Gitops(Component):
    """Images built and loaded, then the overlay applied (ArgoCD takes this over, issue 17 step 5)."""

    name = "gitops"
    kind = Kind.TASK
    needs = ("kubelet", "coredns", "kube-controller-manager", "kube-scheduler", "kube-proxy")

    @cached_property
    def ctx(self) -> ClusterContext:
        return ClusterContext(self.settings, self.state)

    @property
    def applied_file(self) -> Path:
        return self.state.records_dir / "gitops-applied.json"

    def _wanted(self) -> tuple[list[dict], str]:
        objects = render_overlay()
        return objects, hashlib.sha256(json.dumps(objects, sort_keys=True).encode()).hexdigest()[:16]

    def health(self) -> Health:
        try:
            applied = json.loads(self.applied_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return Health(False, "overlay not applied")
        _, digest = self._wanted()
        if applied.get("render") != digest:
            return Health(False, "gitops/overlays/cluster changed since it was applied")
        loaded = images.image_ids(Containerd(self.settings, self.state, self.endpoints).ctr)
        gone = [ref for ref in applied.get("images", {}) if ref not in loaded]
        if gone:
            return Health(False, f"image {gone[0]} not in the cluster's containerd")
        return Health(True, f"overlay {digest} applied, {len(applied.get('images', {}))} images loaded")

    def after_start(self) -> None:
        objects, digest = self._wanted()
        loaded = self.load_images(overlay_images(objects))
        self.apply(objects)
        self.applied_file.write_text(json.dumps({"render": digest, "images": loaded}))

    def load_images(self, refs: dict[str, str]) -> dict[str, str]:
        """Build each service's image (cached by its inputs), tag it as the overlay names it, and
        import it into containerd when its id changed. Returns ref -> docker image id."""
        from sandbox import images as docker_images

        docker_images.build_all(list(refs), log=lambda line: None)
        ctr = Containerd(self.settings, self.state, self.endpoints).ctr
        present = images.image_ids(ctr)
        stamps = self.state.data_dir("gitops") / "imported.json"
        try:
            imported = json.loads(stamps.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            imported = {}
        for svc, ref in refs.items():
            local = docker_images.specs()[svc].tag
            image_id = docker_images.image_id(local)
            if imported.get(ref) == image_id and ref in present:
                continue
            subprocess.run(["docker", "tag", local, ref], check=True, capture_output=True)
            archive = self.state.data_dir("gitops") / f"{svc}.tar"
            archive.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["docker", "save", "-o", str(archive), ref], check=True, capture_output=True)
            images.import_archive(ctr, archive)
            archive.unlink()
            imported[ref] = image_id
            stamps.write_text(json.dumps(imported))
        return {ref: imported[ref] for ref in refs.values()}

    def apply(self, objects: list[dict]) -> None:
        result = subprocess.run([self.ctx.binary("kubectl"), "--kubeconfig", str(self.ctx.user_kubeconfig),
                                 "apply", "--server-side", "--force-conflicts", "-f", "-"],
                                input=yaml.safe_dump_all(objects), capture_output=True, text=True, timeout=120)
        with open(self.log_file, "a") as log:
            log.write(result.stdout + result.stderr)
        if result.returncode != 0:
            raise SandboxError(f"applying gitops/overlays/cluster failed: {result.stderr.strip()[-400:]}",
                               "see `sandbox logs gitops`")

    def env(self) -> dict[str, str]:
        return {}


class ClusterService(Component):
    """A Deployment of the cluster overlay, as the cluster runs it."""

    kind = Kind.SERVICE

    def __init__(self, workload: Workload, slot: int, settings, state, endpoints=None):
        super().__init__(settings, state, endpoints)
        self.workload = workload
        self.name = workload.name
        self.port_name = workload.name.replace("-", "_")

    @cached_property
    def ctx(self) -> ClusterContext:
        return ClusterContext(self.settings, self.state)

    @property
    def port(self) -> int:
        return service_port(self.workload, self.settings.ports)

    def deployment(self) -> dict:
        return self.ctx.api().get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{self.name}")

    def health(self) -> Health:
        d = self.deployment()
        spec, status = d["spec"], d.get("status", {})
        wanted = spec.get("replicas", 1)
        ready = status.get("readyReplicas", 0)
        current = (status.get("observedGeneration", 0) >= d["metadata"]["generation"]
                   and status.get("updatedReplicas", 0) == wanted and ready >= wanted)
        return Health(current and ready > 0, f"{ready}/{wanted} pods ready" + ("" if current else ", rolling out"))

    def env(self) -> dict[str, str]:
        return {key: f"http://127.0.0.1:{self.port}" for key in url_names(self.workload)}
