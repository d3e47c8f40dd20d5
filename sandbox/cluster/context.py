"""What every part of one sandbox's cluster shares: its namespaces, PKI, kubeconfigs, binaries,
the API as health checks read it, and the in-namespace addresses of the infrastructure.

One object per (settings, state dir); the parts (sandbox/components/cluster) are built from it.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path

from sandbox.cluster import tools
from sandbox.cluster.api import KubeApi
from sandbox.cluster.namespaces import ClusterNamespaces
from sandbox.cluster.pki import ClusterPki, Paths
from sandbox.settings import Ports, Settings
from sandbox.state import StateDir

NODE_NAME = "sandbox-node"
APISERVER_PORT = 6443  # inside the namespace, at the node address
# where pods find the infrastructure that runs outside the cluster: node_address:<default port>,
# forwarded to the host's 127.0.0.1:<configured port> (as an EKS pod reaches MSK, RDS, S3)
OUTSIDE = ("aws", "postgres", "gcs", "flink_rest")


class ClusterContext:
    def __init__(self, settings: Settings, state: StateDir):
        self.settings = settings
        self.state = state
        self.cluster = settings.cluster
        self.node = self.cluster.node_address

    @cached_property
    def namespaces(self) -> ClusterNamespaces:
        return ClusterNamespaces(self.state.root, self.node)

    @cached_property
    def pki(self) -> ClusterPki:
        return ClusterPki(self.state.conf_dir("cluster-pki"), self.node, self.cluster.service_cidr, NODE_NAME)

    @property
    def certs(self) -> Paths:
        return self.pki.paths

    @property
    def user_kubeconfig(self) -> Path:
        """The file `sandbox env` exports as KUBECONFIG: the admin, through the forwarded port."""
        return self.state.root / "kubeconfig"

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.cluster.ports.apiserver}"

    def ensure_pki(self) -> Paths:
        paths = self.pki.ensure()
        self.pki.kubeconfig("admin", self.api_url, self.user_kubeconfig)
        return paths

    def api(self, timeout: float = 3.0) -> KubeApi:
        certs = self.certs
        return KubeApi(self.api_url, certs.ca.crt, certs.admin.crt, certs.admin.key, timeout)

    def binary(self, name: str) -> str:
        return tools.binary(self.settings.user_cache_dir, name)

    def inside(self, argv: list[str], mount: bool = False) -> list[str]:
        return self.namespaces.command(argv, mount=mount)

    @property
    def first_service_ip(self) -> str:
        return str(ipaddress.ip_network(self.cluster.service_cidr)[1])

    def outside_rules(self) -> list[dict]:
        """Forwarder rules for pods: node_address:<default port> -> 127.0.0.1:<configured port>."""
        ports = self.settings.ports
        rules = [{"listen": f"{self.node}:{Ports.model_fields[name].default}", "connect": getattr(ports, name)}
                 for name in OUTSIDE]
        # the broker's listener for pods advertises node_address:<default kafka_pods port>
        default_pods = type(self.cluster.ports).model_fields["kafka_pods"].default
        rules.append({"listen": f"{self.node}:{default_pods}", "connect": self.cluster.ports.kafka_pods})
        return rules
