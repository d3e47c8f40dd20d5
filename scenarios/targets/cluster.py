"""The sandbox in cluster mode (`sandbox up --cluster`) as a scenario target: the same CLI as the
`sandbox` target with SANDBOX_RUNTIME=cluster. Infrastructure faults are the native ones (Kafka,
Postgres and Flink run outside the cluster, as MSK, RDS and Dataproc do); killing a service kills
one of its pods' processes with SIGKILL, as an OOM kill would, and the kubelet restarts the
container; killing the kubelet is a fault of its own (its pods keep serving while it is down)."""

from __future__ import annotations

import json
import os
import signal
import subprocess

from scenarios.targets.base import UnsupportedFault
from scenarios.targets.sandbox import SandboxTarget


class ClusterTarget(SandboxTarget):
    name = "cluster"

    def __init__(self) -> None:
        super().__init__()
        os.environ["SANDBOX_RUNTIME"] = "cluster"  # read by every `sandbox` command the target runs

    def ensure_up(self) -> bool:
        from scenarios.targets.sandbox import cli

        if cli("status", check=False, timeout=60).returncode == 0:
            return False
        cli("up", "--cluster", timeout=900)
        self._started = True
        return True

    def _kubectl(self, *args: str) -> subprocess.CompletedProcess:
        env = self.endpoints()
        from sandbox.cluster import tools
        from sandbox.settings import load_settings

        binary = tools.binary(load_settings().user_cache_dir, "kubectl")
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=True,
                              env={**os.environ, "KUBECONFIG": env["KUBECONFIG"]})

    def kill(self, component: str, index: int | None = 0) -> list[int]:
        row = self.status().rows.get(component)
        if row is None:
            raise UnsupportedFault(f"cluster: no component {component}")
        if row.get("kind") != "service":
            return super().kill(component, index)
        pods = json.loads(self._kubectl("get", "pods", "-n", "ticketing", "-l",
                                        f"app.kubernetes.io/name={component}", "-o", "json").stdout)["items"]
        running = sorted((p for p in pods if p["status"]["phase"] == "Running"), key=lambda p: p["metadata"]["name"])
        chosen = running if index is None else running[index:index + 1]
        if not chosen:
            raise UnsupportedFault(f"cluster: no running pod of {component}")
        pids = []
        for pod in chosen:
            for pid in _container_pids(pod["metadata"]["uid"]):
                os.kill(pid, signal.SIGKILL)
                pids.append(pid)
        return pids


def _container_pids(pod_uid: str) -> list[int]:
    """The processes of a pod's containers (not its pause process), from the kubelet's cgroups."""
    from pathlib import Path

    found: set[int] = set()
    marker = "pod" + pod_uid
    for procs in Path("/sys/fs/cgroup/pids").rglob("cgroup.procs"):
        parts = procs.parent.parts
        if marker not in parts or procs.parent.name == marker:
            continue
        for line in procs.read_text().split():
            pid = int(line)
            if Path(f"/proc/{pid}/comm").read_text().strip() != "pause":
                found.add(pid)
    return sorted(found)
