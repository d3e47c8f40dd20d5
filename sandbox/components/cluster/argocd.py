"""GitOps for real: ArgoCD 3.6 (built from source) syncing this repository into the cluster.

Its parts run on the node as the other parts do, inside the cluster's network namespace, each a
component: `git-daemon` serves this repository read-only (what ArgoCD syncs is what is
committed, on the checked-out branch), `argocd-redis` (Debian's Redis) is its cache, and
`argocd-repo-server`, `argocd-application-controller` and `argocd-server` are the one argocd
binary under its three names, in ArgoCD's own out-of-cluster mode (ARGOCD_FAKE_IN_CLUSTER: the
in-cluster destination is reached through a kubeconfig, as its `make start-local` runs them).
The API server has no web UI (its module carries none, see the README) and runs without login:
it is reached only on 127.0.0.1 (ARGOCD_URL). ArgoCD's CRDs and config maps come from the same
module version (make cluster-tools copies them beside the binary).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import yaml

from sandbox.cluster.inside import run_inside
from sandbox.cluster.pki import MASTERS, CertSpec
from sandbox.components.base import ProcessSpec
from sandbox.components.cluster.base import ClusterPart
from sandbox.errors import SandboxError
from sandbox.health import Health
from sandbox.manifests import GITOPS, kustomize_binary

NAMESPACE = "argocd"
ROOT_APP = GITOPS / "argocd" / "bootstrap" / "root-cluster.yaml"
GIT_PORT = 9418
REDIS_PORT = 6379
REPO_SERVER_PORT = 8091  # not ArgoCD's 8081: pods find Flink's REST API at node_address:8081
API_PORT = 8080
RECONCILIATION = "60s"  # the fallback poll; a commit is noticed within seconds (refresh_on_commit)


def repository_url() -> str:
    """git://<node>:9418/<name>.git, as the root Application names it (the one place it is written)."""
    return yaml.safe_load(ROOT_APP.read_text())["spec"]["source"]["repoURL"]


class _ArgoPart(ClusterPart):
    binaries = ("argocd",)

    @property
    def argocd_dir(self) -> Path:
        return Path(self.ctx.binary("argocd")).parent

    def kubeconfig(self) -> str:
        self.ctx.pki.issue(CertSpec("argocd", "cloud-sandbox:argocd", MASTERS, client=True))
        return str(self.ctx.pki.kubeconfig("argocd", self.ctx.pki.node_server))

    def argo_env(self) -> dict[str, str]:
        data = self.state.data_dir("argocd")
        for sub in ("tls", "ssh", "gpg"):
            (data / sub).mkdir(parents=True, exist_ok=True)
        path = os.pathsep.join([str(Path(kustomize_binary()).parent), str(self.argocd_dir / "hack"),
                                str(self.argocd_dir), os.environ.get("PATH", "/usr/bin:/bin")])
        return {"ARGOCD_FAKE_IN_CLUSTER": "true", "KUBECONFIG": self.kubeconfig(), "PATH": path,
                "ARGOCD_TLS_DATA_PATH": str(data / "tls"), "ARGOCD_SSH_DATA_PATH": str(data / "ssh"),
                "ARGOCD_GNUPGHOME": str(data / "gpg"), "ARGOCD_GPG_ENABLED": "false", "HOME": str(data),
                # its git credentials socket, /tmp/reposerver-ask-pass.sock by default: one per instance
                "ARGOCD_ASK_PASS_SOCK": str(self.ctx.namespaces.run_dir / "argocd-ask-pass.sock")}

    def argo(self, name: str, *args: str) -> list[str]:
        return self.ctx.inside([str(self.argocd_dir / name), *args, "--loglevel", "warn",
                                "--redis", f"127.0.0.1:{REDIS_PORT}"])

    def healthz(self, port: int, path: str = "/healthz") -> Health:
        import requests

        def get() -> Health:
            response = requests.get(f"http://127.0.0.1:{port}{path}", timeout=2)
            return Health(response.ok, f"{path} {response.status_code}")

        return run_inside(self.ctx.namespaces.net, get)


class GitDaemon(ClusterPart):
    name = "git-daemon"
    needs = ("cluster-network",)

    @property
    def repos(self) -> Path:
        return self.data_dir / "repos"

    def prepare(self) -> None:
        from sandbox.paths import PROJECT_ROOT

        self.repos.mkdir(parents=True, exist_ok=True)
        link = self.repos / repository_url().rsplit("/", 1)[1]
        git_dir = PROJECT_ROOT / ".git"
        if not git_dir.exists():
            raise SandboxError(f"{PROJECT_ROOT} is not a git checkout: ArgoCD syncs what is committed",
                               "run the sandbox from a git clone of the project")
        if not link.is_symlink() or link.resolve() != git_dir.resolve():
            link.unlink(missing_ok=True)
            link.symlink_to(git_dir)

    def processes(self) -> list[ProcessSpec]:
        # receive-pack is off by default: the repository is served read-only
        return [ProcessSpec("git-daemon", self.ctx.inside([
            "git", "daemon", "--reuseaddr", f"--listen={self.ctx.node}", f"--port={GIT_PORT}",
            f"--base-path={self.repos}", "--export-all", "--informative-errors", str(self.repos)]))]

    def health(self) -> Health:
        result = subprocess.run(self.ctx.inside(["git", "ls-remote", repository_url(), "HEAD"]),
                                capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise ConnectionError(result.stderr.strip()[-200:] or "git ls-remote failed")
        return Health(True, f"serves HEAD {result.stdout[:12]}")


class ArgocdRedis(ClusterPart):
    name = "argocd-redis"
    needs = ("cluster-network",)

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("redis", self.ctx.inside([
            "redis-server", "--bind", "127.0.0.1", "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no",
            "--dir", str(self.data_dir), "--loglevel", "warning"]))]

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def health(self) -> Health:
        def ping() -> str:
            with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).decode().strip()

        answer = run_inside(self.ctx.namespaces.net, ping)
        return Health(answer == "+PONG", f"PING {answer}")


class ArgocdRepoServer(_ArgoPart):
    name = "argocd-repo-server"
    needs = ("kube-apiserver", "argocd-redis", "git-daemon")

    def prepare(self) -> None:
        install(self)

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("repo-server", self.argo("argocd-repo-server", "--port", str(REPO_SERVER_PORT),
                                                     "--disable-tls", "--client-ca-path", ""), env=self.argo_env())]

    def health(self) -> Health:
        return self.healthz(8084)


class ArgocdApplicationController(_ArgoPart):
    name = "argocd-application-controller"
    needs = ("argocd-repo-server",)

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("application-controller", self.argo(
            "argocd-application-controller", "--namespace", NAMESPACE,
            "--repo-server", f"127.0.0.1:{REPO_SERVER_PORT}", "--repo-server-plaintext"),
            env={**self.argo_env(), "HOSTNAME": "argocd-application-controller-0"})]

    def health(self) -> Health:
        return self.healthz(8082)


class ArgocdServer(_ArgoPart):
    name = "argocd-server"
    needs = ("argocd-repo-server",)

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("server", self.argo(
            "argocd-server", "--namespace", NAMESPACE, "--insecure", "--disable-auth", "--port", str(API_PORT),
            "--repo-server", f"127.0.0.1:{REPO_SERVER_PORT}", "--repo-server-plaintext",
            "--staticassets", str(self.data_dir)), env=self.argo_env())]

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def after_start(self) -> None:
        from sandbox.components.cluster.network import ClusterNetwork

        ClusterNetwork(self.settings, self.state).forward(self.name, self.url_port, f"{self.ctx.node}:{API_PORT}")

    @property
    def url_port(self) -> int:
        return self.ctx.cluster.ports.argocd

    def health(self) -> Health:
        return self.healthz(API_PORT)

    def env(self) -> dict[str, str]:
        return {"ARGOCD_URL": f"http://127.0.0.1:{self.url_port}"}


def install(part: _ArgoPart) -> None:
    """ArgoCD's CRDs and config maps (its release's own), with the sandbox's settings; idempotent."""
    manifests = part.argocd_dir / "manifests"
    objects: list[dict] = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
    for path in sorted((manifests / "crds").glob("*.yaml")) + sorted((manifests / "config").glob("*.yaml")):
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for obj in objects:
        if obj["kind"] != "CustomResourceDefinition" and obj["kind"] != "Namespace":
            obj["metadata"]["namespace"] = NAMESPACE
        if obj["kind"] == "Secret" and obj["metadata"]["name"] == "argocd-secret":
            obj["stringData"] = {"server.secretkey": _secret_key(part)}  # signs its sessions and CSRF tokens
        if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == "argocd-cm":
            obj["data"] = {**(obj.get("data") or {}), "timeout.reconciliation": RECONCILIATION,
                           "timeout.reconciliation.jitter": "0s", "application.instanceLabelKey": "argocd.argoproj.io/instance"}
    objects.append({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                    "metadata": {"name": "default", "namespace": NAMESPACE},
                    "spec": {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}],
                             "clusterResourceWhitelist": [{"group": "*", "kind": "*"}]}})
    kubectl = [part.ctx.binary("kubectl"), "--kubeconfig", str(part.ctx.user_kubeconfig),
               "--cache-dir", str(part.state.conf_dir("argocd") / "kube-cache")]
    crds = [o for o in objects if o["kind"] in ("CustomResourceDefinition", "Namespace")]
    rest = [o for o in objects if o not in crds]
    _apply(kubectl, crds, part)
    subprocess.run([*kubectl, "wait", "--for=condition=Established", "--timeout=60s", "crd",
                    "applications.argoproj.io", "appprojects.argoproj.io"], capture_output=True, text=True, timeout=90)
    # An Established CRD can still be missing from the API server's discovery for a moment (and from
    # kubectl's cached copy of it): retry the objects of its kinds until it is there.
    deadline = time.monotonic() + 60
    while True:
        try:
            return _apply(kubectl, rest, part)
        except SandboxError as error:
            if "no matches for kind" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def _apply(kubectl: list[str], objects: list[dict], part: _ArgoPart) -> None:
    result = subprocess.run([*kubectl, "apply", "--server-side", "--force-conflicts", "-f", "-"],
                            input=yaml.safe_dump_all(objects), capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise SandboxError(f"installing ArgoCD's manifests failed: {result.stderr.strip()[-300:]}",
                           f"see `sandbox logs {part.name}`")


def _secret_key(part: _ArgoPart) -> str:
    """One random key per instance, kept with its state (a new one would log out every session)."""
    import secrets

    path = part.state.conf_dir("argocd") / "server.secretkey"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def served_head() -> str | None:
    from sandbox.paths import PROJECT_ROOT

    result = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                            timeout=5)
    return result.stdout.strip() or None


def refresh_on_commit(ctx, last_head: str | None) -> str | None:
    """What a Git host's webhook does for ArgoCD: on a new commit of the served branch, ask every
    Application to refresh now (the annotation ArgoCD's own CLI sets), rather than at its next
    reconciliation. The monitor calls this each round; returns the HEAD it saw."""
    head = served_head()
    if head and last_head and head != last_head:
        api = ctx.api()
        for app in api.get(f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/applications")["items"]:
            api.merge_patch(f"/apis/argoproj.io/v1alpha1/namespaces/{NAMESPACE}/applications/{app['metadata']['name']}",
                            {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})
    return head
