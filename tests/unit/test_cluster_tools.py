"""scripts/install-cluster-tools.sh (`make cluster-tools`): where it puts each pinned binary, and the
licence gate's view of them. Builds nothing (a build takes most of an hour)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "install-cluster-tools.sh"
MODULES = ROOT / "tools" / "cluster"

spec = importlib.util.spec_from_file_location("licenses", ROOT / "scripts" / "licenses.py")
licenses = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = licenses
spec.loader.exec_module(licenses)


def paths(tmp_path: Path) -> dict[str, Path]:
    out = subprocess.run(["bash", str(SCRIPT), "--paths"], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SANDBOX_USER_CACHE_DIR": str(tmp_path)})
    return {name: Path(path) for name, path in (line.split(" ", 1) for line in out.stdout.splitlines())}


def required(module: str, main: str) -> str:
    """The version of `main` that tools/cluster/<module>/go.mod requires."""
    text = (MODULES / module / "go.mod").read_text()
    return re.search(rf"^\s*(?:require\s+)?{re.escape(main)} (v\S+)", text, re.M)[1]


def test_every_binary_is_keyed_by_the_version_its_wrapper_module_pins(tmp_path):
    found = paths(tmp_path)
    versions = {name: required("kubernetes", "k8s.io/kubernetes") for name in
                ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")}
    versions |= {"etcd": required("etcd", "go.etcd.io/etcd/server/v3"),
                 "etcdctl": required("etcd", "go.etcd.io/etcd/etcdctl/v3"),
                 "coredns": required("coredns", "github.com/coredns/coredns"),
                 "metrics-server": required("metrics-server", "sigs.k8s.io/metrics-server"),
                 "argocd": required("argocd", "github.com/argoproj/argo-cd/v3"), "pause": "3.10.2"}
    assert set(found) == set(versions)
    for name, version in versions.items():
        assert found[name] == tmp_path / "cluster" / f"{name}-{version}" / name


def test_the_kubernetes_wrapper_replaces_every_staging_module_with_the_same_release():
    text = (MODULES / "kubernetes" / "go.mod").read_text()
    kubernetes = required("kubernetes", "k8s.io/kubernetes")
    replaced = re.findall(r"^\s*(k8s\.io/[\w-]+) => \1 (v\S+)$", text, re.M)
    assert len(replaced) == 32
    assert {version for _, version in replaced} == {"v0" + kubernetes.removeprefix("v1")}


def test_the_licence_gate_scans_the_built_go_binaries_only(tmp_path):
    for name in ("etcd", "pause"):
        (tmp_path / name).write_text("")
    script = tmp_path / "paths.sh"
    script.write_text(f"echo 'etcd {tmp_path}/etcd'; echo 'pause {tmp_path}/pause'; echo 'kubelet {tmp_path}/kubelet'\n")
    assert licenses.built_binaries(script) == [tmp_path / "etcd"]  # pause is C; kubelet not built
    assert licenses.built_binaries(tmp_path / "absent.sh") == []
