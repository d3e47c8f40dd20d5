"""The cluster runtime: a service is a Deployment in the sandbox's Kubernetes (`up --cluster`).

The cluster's own parts, the infrastructure and the tasks run natively or once, as in the
processes mode; this runtime realises only the services, which the `gitops` task has applied:
`up` waits for the rollout and forwards the service's port on 127.0.0.1 to its ClusterIP; `logs`
are the pods' logs; `teardown` (`sandbox down`) removes the cluster's namespaces, its pods and
cgroups, so nothing of it stays on the machine.
"""

from __future__ import annotations

import subprocess
import time

from sandbox.cluster.context import ClusterContext
from sandbox.components.base import Component
from sandbox.components.cluster.network import ClusterNetwork
from sandbox.components.cluster.node import cgroup_root, remove_cgroup
from sandbox.components.cluster.workloads import NAMESPACE, ClusterService
from sandbox.errors import SandboxError
from sandbox.health import Health, HttpProbe
from sandbox.poll import wait_for
from sandbox.runtimes import Progress, Runtime, Status, UpResult, quick


class ClusterRuntime(Runtime):
    name = "cluster"

    def __init__(self, settings, state):
        super().__init__(settings, state)
        self.ctx = ClusterContext(settings, state)

    def up(self, comp: Component, progress: Progress, roll_out: bool = False) -> UpResult:
        assert isinstance(comp, ClusterService)
        started = time.monotonic()
        progress(comp.name, "waiting for rollout")
        started_rollout = not quick(comp.probe()).ok
        health = wait_for(comp.probe(), timeout=self.settings.start_timeout, not_yet=comp.probe().not_yet)
        if not health.ok:
            raise SandboxError(f"{comp.name}: Deployment not rolled out in {self.settings.start_timeout:.0f}s: "
                               f"{health.detail}\n{self._events(comp)}",
                               f"kubectl -n {NAMESPACE} describe deployment {comp.name}; sandbox logs {comp.name}")
        service = self.ctx.api().get(f"/api/v1/namespaces/{NAMESPACE}/services/{comp.name}")
        port = service["spec"]["ports"][0]["port"]
        changed = self._network().forward(comp.name, comp.port, f"{service['spec']['clusterIP']}:{port}")
        probe = HttpProbe(f"http://127.0.0.1:{comp.port}{comp.workload.readiness_path}")  # through the forward
        reached = wait_for(probe, timeout=30, not_yet=probe.not_yet)
        if not reached.ok:
            raise SandboxError(f"{comp.name}: rolled out but 127.0.0.1:{comp.port} does not answer: {reached.detail}",
                               f"sandbox logs cluster-network; sandbox logs {comp.name}")
        progress(comp.name, "healthy")
        action = "rolled out" if changed or started_rollout else "reused"
        return UpResult(comp.name, action, time.monotonic() - started, health)

    def _network(self) -> ClusterNetwork:
        return ClusterNetwork(self.settings, self.state)

    def _events(self, comp: Component) -> str:
        result = subprocess.run(self._kubectl("get", "events", "-n", NAMESPACE, "--field-selector",
                                              f"involvedObject.name={comp.name}", "--sort-by=.lastTimestamp"),
                                capture_output=True, text=True, timeout=20)
        return "\n".join((result.stdout or result.stderr).strip().splitlines()[-8:])

    def _kubectl(self, *args: str) -> list[str]:
        return [self.ctx.binary("kubectl"), "--kubeconfig", str(self.ctx.user_kubeconfig), *args]

    def down(self, comp: Component) -> bool:
        """A Deployment stays declared (ArgoCD would put it back); its port stops being forwarded."""
        return self._network().forward(comp.name, None, None)

    def status(self, comp: Component) -> Status:
        if not self.ctx.namespaces.exists():
            return Status(comp.name, "not started", [], comp.port, None, Health(False, "no cluster"), 0)
        health = quick(comp.probe())
        return Status(comp.name, "running" if health.ok else "degraded", [], comp.port, None, health, 0)

    def logs(self, comp: Component, lines: int):
        result = subprocess.run(self._kubectl("logs", "-n", NAMESPACE, f"deployment/{comp.name}", "--all-containers",
                                              "--prefix", f"--tail={lines}"),
                                capture_output=True, text=True, timeout=30)
        return [], result.stdout or result.stderr

    def teardown(self) -> None:
        self.ctx.namespaces.delete()
        remove_cgroup(cgroup_root(self.state.root))
