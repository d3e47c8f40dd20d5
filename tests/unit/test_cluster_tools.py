"""scripts/install-cluster-tools.sh (`make cluster-tools`): where it puts each pinned binary, and the
licence gate's view of them. Builds nothing (a build takes most of an hour)."""

import re

from install_scripts import ROOT, licenses, required, script_paths

SCRIPT = ROOT / "scripts" / "install-cluster-tools.sh"
MODULES = ROOT / "tools" / "cluster"


def test_every_binary_is_keyed_by_the_version_its_wrapper_module_pins(tmp_path):
    found = script_paths(SCRIPT, tmp_path)
    versions = {name: required(MODULES / "kubernetes" / "go.mod", "k8s.io/kubernetes") for name in
                ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "kubectl")}
    versions |= {"etcd": required(MODULES / "etcd" / "go.mod", "go.etcd.io/etcd/server/v3"),
                 "etcdctl": required(MODULES / "etcd" / "go.mod", "go.etcd.io/etcd/etcdctl/v3"),
                 "coredns": required(MODULES / "coredns" / "go.mod", "github.com/coredns/coredns"),
                 "metrics-server": required(MODULES / "metrics-server" / "go.mod", "sigs.k8s.io/metrics-server"),
                 "argocd": required(MODULES / "argocd" / "go.mod", "github.com/argoproj/argo-cd/v3"), "pause": "3.10.2"}
    assert set(found) == set(versions)
    for name, version in versions.items():
        assert found[name] == tmp_path / "cluster" / f"{name}-{version}" / name


def test_the_kubernetes_wrapper_replaces_every_staging_module_with_the_same_release():
    text = (MODULES / "kubernetes" / "go.mod").read_text()
    kubernetes = required(MODULES / "kubernetes" / "go.mod", "k8s.io/kubernetes")
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
