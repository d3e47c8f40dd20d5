"""The cluster's network: its namespaces (sandbox/cluster/namespaces.py) and the one forwarder
process between them and the host's loopback (sandbox/cluster/forward.py).

In: 127.0.0.1:<apiserver port> and each service's port on the host -> the apiserver and the
Services' ClusterIPs inside. Out: node_address:<default port> inside -> the infrastructure on the
host's 127.0.0.1 (how pods reach Kafka, Postgres, the AWS and GCS emulators and Flink). Nothing
of the cluster listens on a host address other than 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from sandbox import process
from sandbox.cluster.context import APISERVER_PORT
from sandbox.components.base import ProcessSpec
from sandbox.components.cluster.base import ClusterPart
from sandbox.health import Health, TcpProbe

_RULES = threading.Lock()  # services roll out (and stop) in parallel: one rules rewrite at a time


class ClusterNetwork(ClusterPart):
    name = "cluster-network"

    @property
    def ports(self) -> dict[str, int]:
        return {"cluster.ports.apiserver": self.ctx.cluster.ports.apiserver}

    @property
    def port(self) -> int:
        return self.ctx.cluster.ports.apiserver

    @property
    def config_file(self):
        return self.conf_dir / "forward.json"

    @property
    def services_file(self):
        """service -> [host port, in-cluster target], written as the services roll out."""
        return self.state.records_dir / "cluster-forwards.json"

    def prepare(self) -> None:
        import subprocess

        self.ctx.namespaces.ensure()
        # the node's own processes (the forwarder, ArgoCD) reach ClusterIPs: a route kube-proxy's
        # DNAT can rewrite (without one the kernel refuses before iptables sees the packet)
        subprocess.run(self.ctx.inside(["ip", "route", "replace", self.ctx.cluster.service_cidr, "dev", "lo",
                                        "src", self.ctx.node]), check=True, capture_output=True)
        self.ctx.ensure_pki()
        self._write_config()

    def _services(self) -> dict[str, list]:
        try:
            return json.loads(self.services_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _write_config(self) -> None:
        rules_in = [{"listen": self.ctx.cluster.ports.apiserver, "connect": f"{self.ctx.node}:{APISERVER_PORT}"}]
        rules_in += [{"listen": port, "connect": target} for port, target in self._services().values()]
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.config_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"netns": str(self.ctx.namespaces.net), "in": rules_in,
                                   "out": self.ctx.outside_rules()}, indent=2))
        tmp.replace(self.config_file)

    def forward(self, service: str, host_port: int | None, target: str | None) -> bool:
        """Forward 127.0.0.1:host_port to target inside (None: stop forwarding); True if it changed."""
        with _RULES:
            return self._forward(service, host_port, target)

    def _forward(self, service: str, host_port: int | None, target: str | None) -> bool:
        services = self._services()
        wanted = [host_port, target] if host_port else None
        if services.get(service) == wanted:
            return False
        if wanted:
            services[service] = wanted
        else:
            services.pop(service, None)
        self.services_file.parent.mkdir(parents=True, exist_ok=True)
        self.services_file.write_text(json.dumps(services))
        self._write_config()
        record = self.state.load(self.name)
        for proc in record.processes if record else []:
            if process.is_running(proc):
                os.kill(proc.pid, signal.SIGHUP)  # the forwarder re-reads its rules, keeping connections
        return True

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("forwarder", [sys.executable, "-m", "sandbox.cluster.forward", str(self.config_file)])]

    def health(self) -> Health:
        TcpProbe(self.ctx.cluster.ports.apiserver)()
        forwarded = len(self._services())
        return Health(True, f"namespaces up; apiserver and {forwarded} service(s) forwarded to 127.0.0.1")
