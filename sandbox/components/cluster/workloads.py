"""The services in cluster mode: the Deployments of gitops/overlays/cluster, run by the cluster.

`gitops` (a task) builds each service's image from its Dockerfile with the docker runtime's
builder (its input-hash cache), loads it into the cluster's containerd under the overlay's exact
reference (no registry, no pull: imagePullPolicy Never), and applies ArgoCD's app-of-apps
(gitops/argocd/bootstrap/root-cluster.yaml), which syncs the overlay from the served repository. Each service is
then a component whose runtime is the cluster (sandbox/runtimes/cluster.py): healthy when its
Deployment is rolled out, reached on 127.0.0.1:<its port>, forwarded to its Service's ClusterIP.
"""

from __future__ import annotations

import json
import subprocess
from functools import cached_property
from pathlib import Path

from sandbox.cluster import images
from sandbox.cluster.context import ClusterContext
from sandbox.components.base import Component, Kind
from sandbox.components.cluster.argocd import NAMESPACE as ARGOCD_NAMESPACE
from sandbox.components.cluster.argocd import ROOT_APP
from sandbox.components.cluster.node import Containerd
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.manifests import GITOPS, Workload, render, service_port, url_names

OVERLAY = GITOPS / "overlays" / "cluster"
CRDS = Path(__file__).resolve().parents[2] / "cluster" / "crds"  # kinds the overlay uses that no part installs
NAMESPACE = "ticketing"


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
    """The services' images built and loaded, then ArgoCD's app-of-apps applied: done when every
    Application is Synced and Healthy (ArgoCD syncs what is committed, see argocd.py)."""

    name = "gitops"
    kind = Kind.TASK
    needs = ("kubelet", "coredns", "kube-controller-manager", "kube-scheduler", "kube-proxy",
             "argocd-application-controller", "argocd-server")

    @cached_property
    def ctx(self) -> ClusterContext:
        return ClusterContext(self.settings, self.state)

    @property
    def loaded_file(self) -> Path:
        return self.state.data_dir("gitops") / "imported.json"

    def applications(self) -> list[dict]:
        return self.ctx.api().get(f"/apis/argoproj.io/v1alpha1/namespaces/{ARGOCD_NAMESPACE}/applications")["items"]

    def health(self) -> Health:
        import requests

        refs = overlay_images(render(self.settings.cache_dir / "gitops", OVERLAY))
        try:
            loaded = json.loads(self.loaded_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            loaded = {}
        present = images.image_ids(Containerd(self.settings, self.state, self.endpoints).ctr)
        missing = [ref for ref in refs.values() if ref not in loaded or _normalized(ref) not in present]
        if missing:
            return Health(False, f"image {missing[0]} not loaded into the cluster")
        try:
            apps = self.applications()
        except requests.HTTPError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return Health(False, "ArgoCD is not installed")
            raise
        if not apps:
            return Health(False, "the app-of-apps is not applied")
        table = [(a["metadata"]["name"], a.get("status", {}).get("sync", {}).get("status", "Unknown"),
                  a.get("status", {}).get("health", {}).get("status", "Unknown")) for a in apps]
        ok = all(sync == "Synced" and health == "Healthy" for _, sync, health in table)
        return Health(ok, ", ".join(f"{name} {sync}/{health}" for name, sync, health in sorted(table)))

    def after_start(self) -> None:
        from sandbox.poll import wait_for

        self.load_images(overlay_images(render(self.settings.cache_dir / "gitops", OVERLAY)))
        self.apply_crds()
        self._kubectl("apply", "-n", ARGOCD_NAMESPACE, "-f", str(ROOT_APP))
        health = wait_for(self.health, timeout=max(self.settings.start_timeout, 240))
        if not health.ok:
            raise SandboxError(f"ArgoCD did not report every Application Synced/Healthy: {health.detail}",
                               f"kubectl -n {ARGOCD_NAMESPACE} get applications; sandbox logs argocd-application-controller")

    def load_images(self, refs: dict[str, str]) -> dict[str, str]:
        """Build each service's image (cached by its inputs), tag it as the overlay names it, and
        import it into containerd when its id changed. Returns ref -> docker image id."""
        from sandbox import images as docker_images

        docker_images.build_all(list(refs), log=lambda line: None)
        ctr = Containerd(self.settings, self.state, self.endpoints).ctr
        present = images.image_ids(ctr)
        try:
            imported = json.loads(self.loaded_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            imported = {}
        table = docker_images.specs()
        stale, changed = {}, []
        for svc, ref in refs.items():
            image_id = docker_images.image_id(table[svc].tag)
            if imported.get(ref) != image_id or _normalized(ref) not in present:
                stale[ref] = (table[svc].tag, image_id)
                if ref in imported and imported[ref] != image_id:
                    changed.append(svc)
        if stale:  # one archive: the layers the services share (Python, their base) go over once
            for ref, (local, _) in stale.items():
                subprocess.run(["docker", "tag", local, ref], check=True, capture_output=True)
            archive = self.state.data_dir("gitops") / "images.tar"
            archive.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["docker", "save", "-o", str(archive), *stale], check=True, capture_output=True)
            images.import_archive(ctr, archive)
            archive.unlink()
            imported.update({ref: image_id for ref, (_, image_id) in stale.items()})
            self.loaded_file.write_text(json.dumps(imported))
        for svc in changed:  # same tag, new build: the pods restart on it, one at a time (a rollout)
            self._kubectl("rollout", "restart", "-n", NAMESPACE, f"deployment/{svc}")
        return {ref: imported[ref] for ref in refs.values()}

    def _kubectl(self, *args: str, timeout: float = 60) -> str:
        result = subprocess.run([self.ctx.binary("kubectl"), "--kubeconfig", str(self.ctx.user_kubeconfig), *args],
                                capture_output=True, text=True, timeout=timeout)
        with open(self.log_file, "a") as log:
            log.write(f"$ kubectl {' '.join(args)}\n{result.stdout}{result.stderr}")
        if result.returncode != 0:
            raise SandboxError(f"kubectl {' '.join(args[:3])} failed: {result.stderr.strip()[-300:]}",
                               "see `sandbox logs gitops`")
        return result.stdout

    def apply_crds(self) -> None:
        self._kubectl("apply", "--server-side", "-f", str(CRDS))
        self._kubectl("wait", "--for=condition=Established", "--timeout=30s", "-f", str(CRDS))

    def env(self) -> dict[str, str]:
        return {}


def _normalized(ref: str) -> str:
    """How containerd names an image given as `ticketing/x:tag` (Docker Hub's normalisation)."""
    first = ref.split("/", 1)[0]
    if "/" in ref and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if "/" in ref else f"docker.io/library/{ref}"


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
