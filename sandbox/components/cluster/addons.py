"""Cluster add-ons run as parts of the node: CoreDNS (the cluster's DNS) and metrics-server (the
CPU figures the HPA scales on). Each runs as a process in the cluster's network namespace and is
published the way a kubeadm cluster publishes its pods: a Service (kube-dns at the DNS address,
metrics-server behind the metrics.k8s.io APIService) whose EndpointSlice is the node address."""

from __future__ import annotations

import secrets
import socket
import struct
import subprocess

import yaml

from sandbox.cluster.inside import run_inside
from sandbox.cluster.pki import MASTERS, CertSpec
from sandbox.components.base import ProcessSpec
from sandbox.components.cluster.base import ClusterPart
from sandbox.errors import SandboxError
from sandbox.health import Health

DNS_NAME = "kubernetes.default.svc.cluster.local"


def node_service(name: str, port_name: str, port: int, target: int, address: str, cluster_ip: str | None,
                 protocols: tuple[str, ...] = ("TCP",)) -> list[dict]:
    """A selector-less Service in kube-system and the EndpointSlice that points it at the node."""
    spec: dict = {"ports": [{"name": f"{port_name}-{p.lower()}", "port": port, "targetPort": target, "protocol": p}
                            for p in protocols]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    labels = {"kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "cloud-sandbox"}
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "kube-system"}, "spec": spec},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
         "metadata": {"name": f"{name}-node", "namespace": "kube-system", "labels": labels},
         "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
         "ports": [{"name": f"{port_name}-{p.lower()}", "port": target, "protocol": p} for p in protocols]},
    ]


class _Addon(ClusterPart):
    needs: tuple[str, ...] | None = ("kube-apiserver",)

    def kubectl_apply(self, objects: list[dict]) -> None:
        result = subprocess.run([self.ctx.binary("kubectl"), "--kubeconfig", str(self.ctx.user_kubeconfig),
                                 "apply", "--server-side", "--force-conflicts", "-f", "-"],
                                input=yaml.safe_dump_all(objects), capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise SandboxError(f"{self.name}: kubectl apply failed: {result.stderr.strip()[-400:]}",
                               f"see `sandbox logs {self.name}`")

    def client_kubeconfig(self) -> str:
        self.ctx.pki.issue(CertSpec(self.name, f"cloud-sandbox:{self.name}", MASTERS, client=True))
        return str(self.ctx.pki.kubeconfig(self.name, self.ctx.pki.node_server))


class CoreDns(_Addon):
    name = "coredns"
    binaries = ("coredns",)

    def prepare(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "Corefile").write_text(f"""\
.:53 {{
    errors
    health 127.0.0.1:8180
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {self.client_kubeconfig()}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
    loadbalance
}}
""")

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("coredns", self.ctx.inside(
            [self.ctx.binary("coredns"), "-conf", str(self.conf_dir / "Corefile")]))]

    def after_start(self) -> None:
        self.kubectl_apply(node_service("kube-dns", "dns", 53, 53, self.ctx.node, self.ctx.cluster.dns_address,
                                        ("UDP", "TCP")))

    def health(self) -> Health:
        address = run_inside(self.ctx.namespaces.net, lambda: _resolve(self.ctx.node, DNS_NAME))
        return Health(address == self.ctx.first_service_ip, f"{DNS_NAME} -> {address}")


class MetricsServer(_Addon):
    name = "metrics-server"
    needs = ("kube-apiserver", "kubelet")
    binaries = ("metrics-server",)
    PORT = 4443

    def processes(self) -> list[ProcessSpec]:
        kubeconfig = self.client_kubeconfig()
        c = self.ctx.certs
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [ProcessSpec("metrics-server", self.ctx.inside([
            self.ctx.binary("metrics-server"), f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}", f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={self.ctx.node}", f"--secure-port={self.PORT}", f"--cert-dir={self.data_dir}",
            f"--requestheader-client-ca-file={c.front_proxy_ca.crt}",
            "--kubelet-preferred-address-types=InternalIP", f"--kubelet-certificate-authority={c.ca.crt}",
            f"--kubelet-client-certificate={c.apiserver_kubelet_client.crt}",
            f"--kubelet-client-key={c.apiserver_kubelet_client.key}",
            "--metric-resolution=15s",
        ]))]

    def after_start(self) -> None:
        self.kubectl_apply([*node_service("metrics-server", "https", 443, self.PORT, self.ctx.node, None), {
            "apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": "v1beta1.metrics.k8s.io"},
            "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                     "versionPriority": 100, "insecureSkipTLSVerify": True,
                     "service": {"name": "metrics-server", "namespace": "kube-system", "port": 443}},
        }])

    health_after_setup = True  # its API is served only once the APIService exists

    def health(self) -> Health:
        nodes = self.ctx.api().get("/apis/metrics.k8s.io/v1beta1/nodes").get("items", [])
        if not nodes:
            return Health(False, "no node metrics yet")
        usage = nodes[0]["usage"]
        return Health(True, f"node cpu {usage['cpu']}, memory {usage['memory']}")


def _resolve(server: str, name: str, timeout: float = 2.0) -> str:
    """One DNS A query over UDP; the first address of the answer."""
    ident = secrets.randbits(16)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    packet = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, 53))
        reply = sock.recv(4096)
    answers = struct.unpack(">H", reply[6:8])[0]
    if reply[:2] != packet[:2] or not answers:
        raise ConnectionError(f"no answer for {name} (rcode {reply[3] & 0xF})")
    offset = 12 + len(question)
    for _ in range(answers):
        offset += 2 if reply[offset] & 0xC0 == 0xC0 else len(name) + 2  # a name pointer, or the name again
        rtype, _cls, _ttl, length = struct.unpack(">HHIH", reply[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            return socket.inet_ntoa(reply[offset:offset + 4])
        offset += length
    raise ConnectionError(f"no A record for {name}")
