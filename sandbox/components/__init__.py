"""Component registry: name -> factory, per runtime, listed in start order.

The emulated cloud pieces, the one-shot tasks that need them (the Terraform apply), the apps the
services stand on (gateway, the Flink analytics job), then the ticket-booking services: one per
Deployment of the rendered GitOps overlay, the single list of workloads for every runtime. Each
class declares its own `kind` (base.Kind); the orchestrator starts a kind once what it needs is up.
Imports are lazy so that `sandbox env` does not pay for clients it does not use.
"""

from __future__ import annotations

from functools import lru_cache, partial
from importlib import import_module

from sandbox.errors import SandboxError
from sandbox.observability import OBSERVED_RUNTIMES

REGISTRY: dict[str, dict[str, str]] = {
    "native": {
        "aws": "sandbox.components.aws:Aws",
        "kafka": "sandbox.components.kafka:Kafka",
        "postgres": "sandbox.components.postgres:Postgres",
        "gcs": "sandbox.components.gcs:Gcs",
        "flink": "sandbox.components.flink:Flink",
        "terraform": "sandbox.components.terraform:Terraform",
        # the gateway (Services in front of replicas) listens before the services start, since
        # they reach each other through it
        "gateway": "sandbox.components.gateway:Gateway",
        "analytics": "sandbox.components.analytics:Analytics",
        "init": "sandbox.components.init_hooks:InitHooks",
    },
    # the same pieces as containers (sandbox/components/docker), the same Terraform task against
    # the AWS container; the services reach each other by network alias, so no gateway
    "docker": {
        "aws": "sandbox.components.docker.aws:Aws",
        "kafka": "sandbox.components.docker.kafka:Kafka",
        "postgres": "sandbox.components.docker.postgres:Postgres",
        "gcs": "sandbox.components.docker.gcs:Gcs",
        "flink": "sandbox.components.docker.flink:Flink",
        "terraform": "sandbox.components.docker.terraform:Terraform",
        "analytics": "sandbox.components.docker.analytics:Analytics",
        "init": "sandbox.components.init_hooks:InitHooks",
    },
    # `up --cluster`: the infrastructure as in "native" (outside the cluster, as MSK and RDS are
    # outside EKS), a one-node Kubernetes whose parts are components too, and the services as
    # Deployments in it (no gateway: each is forwarded to its Service)
    "cluster": {
        "aws": "sandbox.components.aws:Aws",
        "kafka": "sandbox.components.kafka:Kafka",
        "postgres": "sandbox.components.postgres:Postgres",
        "gcs": "sandbox.components.gcs:Gcs",
        "flink": "sandbox.components.flink:Flink",
        "cluster-network": "sandbox.components.cluster.network:ClusterNetwork",
        "etcd": "sandbox.components.cluster.control_plane:Etcd",
        "kube-apiserver": "sandbox.components.cluster.control_plane:KubeApiserver",
        "kube-controller-manager": "sandbox.components.cluster.control_plane:KubeControllerManager",
        "kube-scheduler": "sandbox.components.cluster.control_plane:KubeScheduler",
        "containerd": "sandbox.components.cluster.node:Containerd",
        "kubelet": "sandbox.components.cluster.node:Kubelet",
        "kube-proxy": "sandbox.components.cluster.node:KubeProxy",
        "coredns": "sandbox.components.cluster.addons:CoreDns",
        "metrics-server": "sandbox.components.cluster.addons:MetricsServer",
        "git-daemon": "sandbox.components.cluster.argocd:GitDaemon",
        "argocd-redis": "sandbox.components.cluster.argocd:ArgocdRedis",
        "argocd-repo-server": "sandbox.components.cluster.argocd:ArgocdRepoServer",
        "argocd-application-controller": "sandbox.components.cluster.argocd:ArgocdApplicationController",
        "argocd-server": "sandbox.components.cluster.argocd:ArgocdServer",
        "terraform": "sandbox.components.terraform:Terraform",
        "gitops": "sandbox.components.cluster.workloads:Gitops",
        "analytics": "sandbox.components.analytics:Analytics",
        "init": "sandbox.components.init_hooks:InitHooks",
    },
}
# metrics, dashboards and logs: loopback processes beside the infrastructure in the processes mode (not yet
# with the docker runtime or in cluster mode); left out when [observability] enabled = false
OBSERVABILITY = {
    "prometheus": "sandbox.components.observability.prometheus:Prometheus",
    "pushgateway": "sandbox.components.observability.exporters:Pushgateway",
    "postgres-exporter": "sandbox.components.observability.exporters:PostgresExporter",
    "perses": "sandbox.components.observability.dashboards:Perses",
    "victoria-logs": "sandbox.components.observability.logs:VictoriaLogs",
    "log-shipper": "sandbox.components.observability.logs:LogShipper",
}
# how each runtime runs a Deployment of the overlay
SERVICE_CLASS = {
    "native": "sandbox.components.service:Service",
    "docker": "sandbox.components.docker.service:Service",
    "cluster": "sandbox.components.cluster.workloads:ClusterService",
}


def overlay_workloads():
    """The Deployments of gitops/overlays/sandbox (the services' single source)."""
    from sandbox.manifests import workloads
    from sandbox.settings import settings

    return workloads(settings().cache_dir / "gitops")


@lru_cache(maxsize=4)
def _registry(runtime: str) -> dict[str, object]:
    """Built once per process: rendering the overlay hashes every file under gitops/."""
    from sandbox.settings import settings

    try:
        entries: dict[str, object] = dict(REGISTRY[runtime])
    except KeyError:
        raise SandboxError(f"unknown runtime {runtime!r}", f"choose from {', '.join(REGISTRY)}") from None
    if runtime in OBSERVED_RUNTIMES and settings().observability.enabled:  # not active(): any runtime's view
        entries.update(OBSERVABILITY)
    for slot, workload in enumerate(overlay_workloads()):
        entries[workload.name] = (workload, slot)
    return entries


def component_names(runtime: str = "native") -> list[str]:
    return list(_registry(runtime))


def kind(name: str, runtime: str = "native"):
    """The component's `Kind` (its class's; importing the class, not its clients)."""
    factory = load(name, runtime)
    return getattr(factory, "func", factory).kind


def tier(name: str, runtime: str = "native") -> int:
    return kind(name, runtime).tier


def names_of(wanted, runtime: str = "native") -> list[str]:
    """The names of one `Kind` (e.g. Kind.INFRA: what the docker tests start on their own)."""
    return [n for n in component_names(runtime) if kind(n, runtime) is wanted]


def select(names: str | None, runtime: str = "native") -> list[str]:
    """Parse `--only kafka,postgres`; unknown names give an error listing the valid ones."""
    valid = component_names(runtime)
    if not names:
        return valid
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in valid]
    if unknown:
        raise SandboxError(f"unknown component {', '.join(unknown)}", f"choose from {', '.join(valid)}")
    return [n for n in valid if n in chosen]


def _class(target: str):
    module_name, _, class_name = target.partition(":")
    return getattr(import_module(module_name), class_name)


def load(name: str, runtime: str = "native"):
    """A factory taking (settings, state, endpoints=None) and returning the component."""
    target = _registry(runtime)[name]
    if isinstance(target, tuple):  # a Deployment: (workload, slot among the workloads)
        return partial(_class(SERVICE_CLASS[runtime]), *target)
    assert isinstance(target, str)
    return _class(target)
