"""The node: containerd (Debian's, with runc and the CNI bridge), the kubelet and kube-proxy.

containerd and the kubelet share the cluster's mount namespace (the kubelet's volume mounts must
be what runc sees; the masked machine-wide sysctls stay masked), and all three its network
namespace, so pods, their bridge and kube-proxy's iptables rules exist only there. Settings the
machine needs (../shared/CLUSTER-FACTS.md): the cgroupfs driver and failCgroupV1: false (no
systemd, cgroups v1), restrict_oom_score_adj (root without CAP_SYS_RESOURCE), and pods under a
cgroup root of this sandbox's own, removed at `down`.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import yaml

from sandbox.cluster import images
from sandbox.cluster.context import NODE_NAME
from sandbox.cluster.inside import run_inside
from sandbox.cluster.tools import CNI_DIR
from sandbox.components.base import ProcessSpec
from sandbox.components.cluster.base import ClusterPart
from sandbox.health import Health

PAUSE_REF = "sandbox.local/pause:3.10.2"
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_root(state_root: Path) -> str:
    """The cgroup under which this sandbox's kubelet puts every pod (one per state dir)."""
    return "/cloud-sandbox-" + hashlib.sha256(str(state_root.resolve()).encode()).hexdigest()[:8]


class Containerd(ClusterPart):
    name = "containerd"
    needs = ("cluster-network",)
    binaries = ("pause",)

    @property
    def socket(self) -> Path:
        return self.ctx.namespaces.run_dir / "containerd.sock"

    @property
    def ctr(self) -> list[str]:
        return ["ctr", "--address", str(self.socket)]

    def prepare(self) -> None:
        cni = self.conf_dir / "cni"
        cni.mkdir(parents=True, exist_ok=True)
        (cni / "10-sandbox.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0", "name": "sandbox",
            "plugins": [
                {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": True, "hairpinMode": True,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": self.ctx.cluster.pod_cidr}]],
                          "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(self.data_dir / "cni-ipam")}},
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }, indent=2))
        d = self.data_dir
        (self.conf_dir / "config.toml").write_text(f"""\
version = 2
root = "{d / 'root'}"
state = "{d / 'state'}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "{d / 'opt'}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_REF}"
  # root lacks CAP_SYS_RESOURCE here: runc may not lower its own oom_score_adj
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_cdi = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_DIR}"
    conf_dir = "{cni}"
""")

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("containerd", self.ctx.inside(
            ["containerd", "--config", str(self.conf_dir / "config.toml"), "--log-level", "warn"], mount=True))]

    def health(self) -> Health:
        result = subprocess.run([*self.ctr, "version"], capture_output=True, text=True, timeout=5)
        if result.returncode != 0:
            raise ConnectionError(result.stderr.strip()[-200:] or "ctr version failed")
        server = [line.split()[-1] for line in result.stdout.splitlines() if line.strip().startswith("Version")]
        return Health(True, f"containerd {server[-1] if server else '?'}")

    def after_start(self) -> None:
        """The pod sandbox image, built here from the pause binary (no registry to pull it from)."""
        archive = images.binary_image(Path(self.ctx.binary("pause")), PAUSE_REF,
                                      self.data_dir / "images" / "pause.tar", "/pause")
        if PAUSE_REF not in images.image_ids(self.ctr):
            images.import_archive(self.ctr, archive)


class Kubelet(ClusterPart):
    name = "kubelet"
    needs = ("kube-apiserver", "containerd")
    binaries = ("kubelet",)

    def prepare(self) -> None:
        c = self.ctx.certs
        self.data_dir.mkdir(parents=True, exist_ok=True)
        resolv = self.conf_dir / "resolv.conf"
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        resolv.write_text(f"nameserver {self.ctx.cluster.dns_address}\n")  # no upstream: the sandbox is offline
        root = cgroup_root(self.state.root)
        _make_cgroup(root)
        containerd = Containerd(self.settings, self.state, self.endpoints)
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "failCgroupV1": False, "cgroupDriver": "cgroupfs", "cgroupRoot": root,
            "containerRuntimeEndpoint": f"unix://{containerd.socket}",
            "address": self.ctx.node, "port": 10250, "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1", "healthzPort": 10248,
            "tlsCertFile": str(c.kubelet_server.crt), "tlsPrivateKeyFile": str(c.kubelet_server.key),
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": str(c.ca.crt)}},
            "authorization": {"mode": "Webhook"},
            "clusterDomain": "cluster.local", "clusterDNS": [self.ctx.cluster.dns_address],
            "resolvConf": str(resolv), "maxPods": self.ctx.cluster.max_pods,
            "podLogsDir": str(self.data_dir / "pod-logs"),
            "failSwapOn": False, "serializeImagePulls": False,
            # a sandbox on a developer's disk: never evict pods or delete images for disk pressure
            "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "enforceNodeAllocatable": ["pods"],
            "rotateCertificates": False, "serverTLSBootstrap": False,
        }))

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("kubelet", self.ctx.inside([
            self.ctx.binary("kubelet"), f"--config={self.conf_dir / 'config.yaml'}",
            f"--kubeconfig={self.ctx.certs.kubeconfigs['kubelet']}", f"--root-dir={self.data_dir / 'root'}",
            f"--node-ip={self.ctx.node}", f"--hostname-override={NODE_NAME}", "--v=1",
        ], mount=True))]

    def health(self) -> Health:
        node = self.ctx.api().get(f"/api/v1/nodes/{NODE_NAME}")
        ready = next((c for c in node.get("status", {}).get("conditions", []) if c["type"] == "Ready"), None)
        if not ready:
            return Health(False, "node registered, no Ready condition yet")
        return Health(ready["status"] == "True", f"node {NODE_NAME} Ready={ready['status']}"
                      + ("" if ready["status"] == "True" else f": {ready.get('message', '')[:150]}"))


class KubeProxy(ClusterPart):
    name = "kube-proxy"
    needs = ("kube-apiserver",)
    binaries = ("kube-proxy",)

    def prepare(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        (self.conf_dir / "config.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.ctx.certs.kubeconfigs["kube-proxy"])},
            "mode": "iptables", "clusterCIDR": self.ctx.cluster.pod_cidr, "hostnameOverride": NODE_NAME,
            "healthzBindAddress": "127.0.0.1:10256", "metricsBindAddress": "127.0.0.1:10249",
            "nodePortAddresses": [f"{self.ctx.node}/32"],
            # 0: leave the machine-wide conntrack table size and timeouts alone
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        }))

    def processes(self) -> list[ProcessSpec]:
        return [ProcessSpec("kube-proxy", self.ctx.inside([
            self.ctx.binary("kube-proxy"), f"--config={self.conf_dir / 'config.yaml'}"]))]

    def health(self) -> Health:
        import requests

        def get() -> Health:
            response = requests.get("http://127.0.0.1:10256/healthz", timeout=2)
            return Health(response.ok, f"/healthz {response.status_code}")

        return run_inside(self.ctx.namespaces.net, get)


def _make_cgroup(root: str) -> None:
    """The kubelet wants its cgroup root to exist in every v1 hierarchy (cpuset needs its cpus/mems)."""
    for hierarchy in CGROUP_ROOT.iterdir():
        if not hierarchy.is_dir() or hierarchy.is_symlink() or not (hierarchy / "cgroup.procs").exists():
            continue
        path = hierarchy / root.lstrip("/")
        path.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not (path / name).read_text().strip():
                    (path / name).write_text((hierarchy / name).read_text())


def remove_cgroup(root: str) -> None:
    """Every cgroup under the kubelet's root, deepest first (their processes are gone by then)."""
    for hierarchy in CGROUP_ROOT.iterdir():
        base = hierarchy / root.lstrip("/")
        if hierarchy.is_symlink() or not base.is_dir():
            continue
        for path in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            path.rmdir()
        base.rmdir()
