"""The control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, as a
kubeadm cluster runs them (its flags), on the node address inside the cluster's namespace."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from sandbox.cluster.context import APISERVER_PORT
from sandbox.cluster.inside import run_inside
from sandbox.components.base import ProcessSpec
from sandbox.components.cluster.base import ClusterPart
from sandbox.health import Health

ETCD_CLIENT = "https://127.0.0.1:2379"


class Etcd(ClusterPart):
    name = "etcd"
    needs = ("cluster-network",)
    binaries = ("etcd", "etcdctl")

    def prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)  # etcd refuses a data dir others can read

    def processes(self) -> list[ProcessSpec]:
        c = self.ctx.certs
        return [ProcessSpec("etcd", self.ctx.inside([
            self.ctx.binary("etcd"), "--name", "sandbox", f"--data-dir={self.data_dir}",
            f"--listen-client-urls={ETCD_CLIENT}", f"--advertise-client-urls={ETCD_CLIENT}",
            "--listen-peer-urls=http://127.0.0.1:2380", "--initial-advertise-peer-urls=http://127.0.0.1:2380",
            "--initial-cluster=sandbox=http://127.0.0.1:2380", "--listen-metrics-urls=http://127.0.0.1:2381",
            f"--cert-file={c.etcd_server.crt}", f"--key-file={c.etcd_server.key}",
            f"--trusted-ca-file={c.etcd_ca.crt}", "--client-cert-auth=true",
            "--snapshot-count=10000", "--log-level=warn",
        ]))]

    def health(self) -> Health:
        import requests

        def get() -> Health:
            answer = requests.get("http://127.0.0.1:2381/health", timeout=2).json()
            return Health(answer.get("health") == "true", f"etcd health {answer.get('health')}")

        return run_inside(self.ctx.namespaces.net, get)


class KubeApiserver(ClusterPart):
    name = "kube-apiserver"
    needs = ("etcd",)
    binaries = ("kube-apiserver", "kubectl")

    def processes(self) -> list[ProcessSpec]:
        c = self.ctx.certs
        return [ProcessSpec("apiserver", self.ctx.inside([
            self.ctx.binary("kube-apiserver"),
            f"--advertise-address={self.ctx.node}", f"--bind-address={self.ctx.node}",
            f"--secure-port={APISERVER_PORT}",
            f"--etcd-servers={ETCD_CLIENT}", f"--etcd-cafile={c.etcd_ca.crt}",
            f"--etcd-certfile={c.apiserver_etcd_client.crt}", f"--etcd-keyfile={c.apiserver_etcd_client.key}",
            f"--service-cluster-ip-range={self.ctx.cluster.service_cidr}",
            f"--client-ca-file={c.ca.crt}", f"--tls-cert-file={c.apiserver.crt}",
            f"--tls-private-key-file={c.apiserver.key}",
            f"--kubelet-client-certificate={c.apiserver_kubelet_client.crt}",
            f"--kubelet-client-key={c.apiserver_kubelet_client.key}",
            f"--kubelet-certificate-authority={c.ca.crt}",
            # logs, exec and port-forward reach the kubelet by address, never by a DNS lookup of the node name
            "--kubelet-preferred-address-types=InternalIP",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={c.sa_pub}", f"--service-account-signing-key-file={c.sa_key}",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            # the aggregation layer (metrics-server's metrics.k8s.io), routed to its endpoint address
            f"--requestheader-client-ca-file={c.front_proxy_ca.crt}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User", "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={c.front_proxy_client.crt}",
            f"--proxy-client-key-file={c.front_proxy_client.key}",
            "--enable-aggregator-routing=true",
            "--profiling=false", "--event-ttl=1h",
        ]))]

    def prepare(self) -> None:
        self.ctx.ensure_pki()

    def health(self) -> Health:
        status, body = self.ctx.api().text("/readyz")
        return Health(status == 200, f"/readyz {status}" + ("" if status == 200 else f": {body[-200:]}"))

    def env(self) -> dict[str, str]:
        return {"KUBECONFIG": str(self.ctx.user_kubeconfig)}


class _LeaderElected(ClusterPart):
    """Healthy while it holds and renews its leader Lease (read through the API)."""

    kubeconfig = ""
    needs = ("kube-apiserver",)
    binaries = ("kube-controller-manager", "kube-scheduler")

    def _lease(self) -> Health:
        lease = self.ctx.api().get(f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/{self.name}")
        renewed = lease.get("spec", {}).get("renewTime")
        if not renewed:
            return Health(False, "no leader yet")
        age = time.time() - datetime.fromisoformat(renewed.replace("Z", "+00:00")).astimezone(UTC).timestamp()
        holder = lease["spec"].get("holderIdentity", "?").split("_")[0]
        return Health(age < 15, f"leader {holder}, lease renewed {age:.0f}s ago")

    def health(self) -> Health:
        import requests

        try:
            return self._lease()
        except requests.HTTPError as exc:
            if exc.response is not None and exc.response.status_code == 404:
                return Health(False, "no leader lease yet")
            raise

    def _common(self) -> list[str]:
        kubeconfig = str(self.ctx.certs.kubeconfigs[self.name])
        return [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                f"--authorization-kubeconfig={kubeconfig}", "--bind-address=127.0.0.1", "--leader-elect=true",
                "--profiling=false"]


class KubeControllerManager(_LeaderElected):
    name = "kube-controller-manager"

    def processes(self) -> list[ProcessSpec]:
        c = self.ctx.certs
        hpa = self.settings.hpa
        return [ProcessSpec("controller-manager", self.ctx.inside([
            self.ctx.binary("kube-controller-manager"), *self._common(),
            f"--cluster-signing-cert-file={c.ca.crt}", f"--cluster-signing-key-file={c.ca.key}",
            f"--root-ca-file={c.ca.crt}", f"--service-account-private-key-file={c.sa_key}",
            f"--requestheader-client-ca-file={c.front_proxy_ca.crt}",
            "--use-service-account-credentials=true", "--controllers=*,bootstrapsigner,tokencleaner",
            f"--service-cluster-ip-range={self.ctx.cluster.service_cidr}",
            # the HPA on the same period and scale-down window as the processes mode's emulation
            f"--horizontal-pod-autoscaler-sync-period={hpa.period_seconds:g}s",
            f"--horizontal-pod-autoscaler-downscale-stabilization={hpa.stabilization_seconds:g}s",
        ]))]


class KubeScheduler(_LeaderElected):
    name = "kube-scheduler"

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("scheduler", self.ctx.inside([self.ctx.binary("kube-scheduler"), *self._common()]))]
