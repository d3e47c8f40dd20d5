"""k3d + ArgoCD runtime: the workload in a local Kubernetes cluster, deployed by GitOps.

`up()` does, in order (each step idempotent, each a plain command you can rerun by hand):

1. create the k3d cluster (`k3d cluster create`, one server, traefik off, API on 127.0.0.1);
2. build the images with Docker from `services/<name>/Dockerfile` (context `services/`) and
   `gitops/images/analytics-job.Dockerfile` (context `flink/`), tagged like the `sandbox` overlay
   (`ticketing/<name>:<tag>`), and `k3d image import` them (no registry involved);
3. install ArgoCD from its pinned release manifest (`ARGOCD_VERSION`) into namespace `argocd`;
4. serve this repository read-only with `git daemon` on the k3d network's gateway address (pods
   reach it as host.k3d.internal; it is not bound to 0.0.0.0);
5. apply the root Application (`gitops/argocd/bootstrap/root-sandbox.yaml`, repository URL
   rewritten to the daemon) — the app-of-apps then creates the workload, dashboards,
   kube-prometheus-stack, Loki and Promtail Applications;
6. wait until every Application is Synced and Healthy, failing with the status of the ones that
   are not.

Not run on the machine this was written on: the k3s node image (rancher/k3s) cannot be pulled
there and k3d itself is not served by the Go module proxy reachable there. What is unit-tested
(tests/gitops/test_k3d.py): every command line, the image list derived from the rendered overlay,
the root Application rendering, the wait logic against recorded `kubectl` output.

Not wired into the CLI yet (`sandbox up --cluster k3d` is the intended entry point).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ARGOCD_VERSION = "v3.2.5"
ARGOCD_MANIFEST = (
    f"https://raw.githubusercontent.com/argoproj/argo-cd/{ARGOCD_VERSION}/manifests/install.yaml"
)
K3S_IMAGE = "rancher/k3s:v1.34.2-k3s1"
GIT_DAEMON_PORT = 9418
REPO_NAME = "cloud-sandbox.git"


@dataclasses.dataclass(frozen=True)
class ImageBuild:
    """One image to build: tag, Dockerfile and build context (paths relative to the repo)."""

    tag: str
    dockerfile: str
    context: str


@dataclasses.dataclass(frozen=True)
class K3dConfig:
    cluster: str = "ticketing"
    k3s_image: str = K3S_IMAGE
    api_port: int = 6550
    overlay: str = "gitops/overlays/sandbox"
    root_app: str = "gitops/argocd/bootstrap/root-sandbox.yaml"
    argocd_manifest: str = ARGOCD_MANIFEST
    git_port: int = GIT_DAEMON_PORT
    timeout_s: float = 900.0
    poll_s: float = 5.0


class K3dError(RuntimeError):
    """A step failed; the message says which and carries the tool's last output lines."""


Runner = Callable[[Sequence[str]], str]


def run(cmd: Sequence[str], *, input_text: str | None = None) -> str:
    """Run a command, return stdout; raise K3dError with the last stderr lines on failure."""
    proc = subprocess.run(list(cmd), input=input_text, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-20:])
        raise K3dError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout


# ---------------------------------------------------------------- commands (pure, unit-tested)


def cluster_create_cmd(cfg: K3dConfig) -> list[str]:
    return [
        "k3d", "cluster", "create", cfg.cluster,
        "--image", cfg.k3s_image,
        "--servers", "1", "--agents", "0",
        "--api-port", f"127.0.0.1:{cfg.api_port}",
        "--k3s-arg", "--disable=traefik@server:0",
        "--wait", "--timeout", "180s",
    ]


def cluster_exists_cmd() -> list[str]:
    return ["k3d", "cluster", "list", "-o", "json"]


def build_cmd(image: ImageBuild) -> list[str]:
    return ["docker", "build", "-f", image.dockerfile, "-t", image.tag, image.context]


def import_cmd(cfg: K3dConfig, tags: Sequence[str]) -> list[str]:
    return ["k3d", "image", "import", "--cluster", cfg.cluster, *tags]


def kubectl(cfg: K3dConfig, *args: str) -> list[str]:
    return ["kubectl", "--context", f"k3d-{cfg.cluster}", *args]


def argocd_install_cmds(cfg: K3dConfig) -> list[list[str]]:
    return [
        kubectl(cfg, "create", "namespace", "argocd", "--dry-run=client", "-o", "yaml"),
        kubectl(cfg, "apply", "-f", "-"),
        kubectl(cfg, "apply", "-n", "argocd", "--server-side", "--force-conflicts",
                "-f", cfg.argocd_manifest),
        kubectl(cfg, "-n", "argocd", "rollout", "status", "deployment/argocd-repo-server",
                "--timeout=300s"),
        kubectl(cfg, "-n", "argocd", "rollout", "status", "statefulset/argocd-application-controller",
                "--timeout=300s"),
    ]


def network_gateway_cmd(cfg: K3dConfig) -> list[str]:
    return ["docker", "network", "inspect", f"k3d-{cfg.cluster}",
            "--format", "{{(index .IPAM.Config 0).Gateway}}"]


def git_daemon_cmd(cfg: K3dConfig, listen: str, base_path: Path) -> list[str]:
    """A read-only git daemon exporting base_path/<REPO_NAME> (a bare mirror of this repo)."""
    return [
        "git", "daemon", "--reuseaddr", "--export-all", "--informative-errors",
        f"--listen={listen}", f"--port={cfg.git_port}", f"--base-path={base_path}", str(base_path),
    ]


def mirror_cmds(base_path: Path) -> list[list[str]]:
    """Refresh a bare mirror of the working repository's HEAD (ArgoCD reads committed state)."""
    mirror = base_path / REPO_NAME
    if not (mirror / "HEAD").exists():
        return [["git", "clone", "--bare", str(ROOT), str(mirror)]]
    return [["git", "-C", str(mirror), "fetch", "--force", str(ROOT), "+HEAD:refs/heads/main"],
            ["git", "-C", str(mirror), "symbolic-ref", "HEAD", "refs/heads/main"]]


def repo_url() -> str:
    return f"git://host.k3d.internal:{GIT_DAEMON_PORT}/{REPO_NAME}"


# ---------------------------------------------------------------- manifests (pure, unit-tested)


def images_from_rendered(rendered: str) -> list[str]:
    """Every image the rendered overlay's Deployments use (containers and init containers)."""
    images: set[str] = set()
    for doc in yaml.safe_load_all(rendered):
        if not doc or doc.get("kind") != "Deployment":
            continue
        spec = doc["spec"]["template"]["spec"]
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            images.add(c["image"])
    return sorted(images)


def image_builds(images: Sequence[str]) -> list[ImageBuild]:
    """Map `ticketing/<name>:<tag>` to its Dockerfile; unknown names are an error."""
    builds = []
    for tag in images:
        name = tag.split("/", 1)[-1].split(":", 1)[0]
        if name == "analytics-job":
            builds.append(ImageBuild(tag, "gitops/images/analytics-job.Dockerfile", "flink"))
        elif (ROOT / "services" / name / "Dockerfile").exists():
            builds.append(ImageBuild(tag, f"services/{name}/Dockerfile", "services"))
        else:
            raise K3dError(f"no Dockerfile for image {tag} (services/{name}/Dockerfile)")
    return builds


def root_application(cfg: K3dConfig, url: str) -> str:
    """The bootstrap root Application with its (and its children's) repo URL set to `url`."""
    doc = yaml.safe_load((ROOT / cfg.root_app).read_text())
    doc["spec"]["source"]["repoURL"] = url
    return yaml.safe_dump(doc, sort_keys=False)


def unready_applications(apps_json: str) -> dict[str, str]:
    """From `kubectl get applications -o json`: name -> "sync/health" for each not Synced+Healthy."""
    out = {}
    for item in json.loads(apps_json).get("items", []):
        status = item.get("status", {})
        sync = status.get("sync", {}).get("status", "Unknown")
        health = status.get("health", {}).get("status", "Unknown")
        if (sync, health) != ("Synced", "Healthy"):
            out[item["metadata"]["name"]] = f"{sync}/{health}"
    return out


# ---------------------------------------------------------------- orchestration


class K3dRuntime:
    """Drives the steps above; `runner` is injectable so tests record commands instead."""

    def __init__(self, cfg: K3dConfig = K3dConfig(), runner: Runner = run,
                 state_dir: Path | None = None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.cfg, self.run, self.clock, self.sleep = cfg, runner, clock, sleep
        self.state_dir = state_dir or ROOT / ".sandbox" / "k3d"
        self.git_daemon: subprocess.Popen | None = None

    def check_tools(self) -> None:
        missing = [t for t in ("docker", "k3d", "kubectl", "git", "kustomize")
                   if shutil.which(t) is None and not (ROOT / ".cache/bin" / t).exists()]
        if missing:
            raise K3dError(f"missing tools for the k3d runtime: {', '.join(missing)} "
                           "(docker: Debian package docker.io; k3d, kubectl: their releases; "
                           "kustomize: scripts/install-gitops-tools.sh)")

    def ensure_cluster(self) -> None:
        clusters = json.loads(self.run(cluster_exists_cmd()) or "[]")
        if not any(c.get("name") == self.cfg.cluster for c in clusters):
            self.run(cluster_create_cmd(self.cfg))

    def render(self) -> str:
        kustomize = shutil.which("kustomize") or str(ROOT / ".cache/bin/kustomize")
        return self.run([kustomize, "build", str(ROOT / self.cfg.overlay)])

    def build_and_import(self) -> list[str]:
        builds = image_builds(images_from_rendered(self.render()))
        for b in builds:
            self.run(build_cmd(b))
        tags = [b.tag for b in builds]
        self.run(import_cmd(self.cfg, tags))
        return tags

    def install_argocd(self) -> None:
        ns, apply_ns, *rest = argocd_install_cmds(self.cfg)
        manifest = self.run(ns)
        if self.run is run:
            run(apply_ns, input_text=manifest)
        else:
            self.run(apply_ns)
        for cmd in rest:
            self.run(cmd)

    def serve_repo(self) -> str:
        base = self.state_dir / "git"
        base.mkdir(parents=True, exist_ok=True)
        for cmd in mirror_cmds(base):
            self.run(cmd)
        gateway = self.run(network_gateway_cmd(self.cfg)).strip()
        cmd = git_daemon_cmd(self.cfg, gateway, base)
        if self.run is run:
            log = open(self.state_dir / "git-daemon.log", "ab")
            self.git_daemon = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        else:
            self.run(cmd)
        return repo_url()

    def apply_root(self, url: str) -> None:
        doc = root_application(self.cfg, url)
        if self.run is run:
            run(kubectl(self.cfg, "apply", "-n", "argocd", "-f", "-"), input_text=doc)
        else:
            self.run(kubectl(self.cfg, "apply", "-n", "argocd", "-f", "-"))

    def wait_synced(self) -> None:
        deadline = self.clock() + self.cfg.timeout_s
        last: dict[str, str] = {"root": "not created"}
        while self.clock() < deadline:
            out = self.run(kubectl(self.cfg, "get", "applications.argoproj.io", "-n", "argocd",
                                   "-o", "json"))
            last = unready_applications(out)
            if not last and json.loads(out).get("items"):
                return
            self.sleep(self.cfg.poll_s)
        detail = ", ".join(f"{k}={v}" for k, v in sorted(last.items()))
        raise K3dError(f"ArgoCD applications not Synced/Healthy after {self.cfg.timeout_s:.0f}s: "
                       f"{detail}")

    def up(self) -> None:
        self.check_tools()
        self.ensure_cluster()
        self.build_and_import()
        self.install_argocd()
        self.apply_root(self.serve_repo())
        self.wait_synced()

    def down(self) -> None:
        if self.git_daemon is not None:
            self.git_daemon.terminate()
        self.run(["k3d", "cluster", "delete", self.cfg.cluster])
