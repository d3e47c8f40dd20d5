"""After `sandbox down` of a cluster-mode instance (`make test-cluster` runs this last): nothing of the
cluster stays on the machine — no process, namespace, mount, interface, cgroup or iptables rule."""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil

from sandbox.cluster.namespaces import ClusterNamespaces
from sandbox.components.cluster.node import CGROUP_ROOT, cgroup_root


def test_down_left_nothing_of_the_cluster_behind(state_dir: Path):
    from sandbox.settings import settings

    owner = str(state_dir.resolve())
    left = [p.pid for p in psutil.process_iter() if _owner(p) == owner]
    assert not left, f"processes of the instance still running: {left}"
    namespaces = ClusterNamespaces(state_dir, settings().cluster.node_address)
    assert not namespaces.exists()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(namespaces.run_dir) not in mounts
    assert not any((h / cgroup_root(state_dir).lstrip("/")).exists() for h in CGROUP_ROOT.iterdir())
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert "KUBE-" not in rules and "CNI-" not in rules
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert "cni0" not in links


def _owner(proc: psutil.Process) -> str | None:
    try:
        return proc.environ().get("SANDBOX_OWNER")
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
