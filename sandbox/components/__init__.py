"""Component registry: name -> factory, per runtime, in start tiers.

Tier 0 are the emulated cloud pieces, tier 1 one-shot tasks that need them (the Terraform apply),
tier 2 the gateway and the Flink analytics job, tier 3 the ticket-booking services rendered from
the GitOps overlay. `up` starts tier by tier, in parallel within a
tier. Imports are lazy so that `sandbox env` does not pay for clients it does not use.
"""

from __future__ import annotations

from functools import lru_cache, partial
from importlib import import_module

from sandbox.errors import SandboxError

NATIVE_INFRA = {
    "aws": "sandbox.components.aws:Aws",
    "kafka": "sandbox.components.kafka:Kafka",
    "postgres": "sandbox.components.postgres:Postgres",
    "gcs": "sandbox.components.gcs:Gcs",
    "flink": "sandbox.components.flink:Flink",
}
NATIVE_TASKS: dict[str, str] = {
    "terraform": "sandbox.components.terraform:Terraform",
}
# tier 2: the gateway (Services in front of replicas) must listen before the services start,
# since they reach each other through it; the Flink job needs only tier 0
NATIVE_APPS: dict[str, str] = {
    "gateway": "sandbox.components.gateway:Gateway",
    "analytics": "sandbox.components.analytics:Analytics",
}

# the docker runtime: same components as containers (sandbox/components/docker), the same
# Terraform task against the AWS container, the analytics job; the services are the overlay's too
DOCKER_INFRA = {
    "aws": "sandbox.components.docker.aws:Aws",
    "kafka": "sandbox.components.docker.kafka:Kafka",
    "postgres": "sandbox.components.docker.postgres:Postgres",
    "gcs": "sandbox.components.docker.gcs:Gcs",
    "flink": "sandbox.components.docker.flink:Flink",
}

DOCKER_TASKS = {
    "terraform": "sandbox.components.docker.terraform:Terraform",
}
DOCKER_APPS = {
    "analytics": "sandbox.components.docker.analytics:Analytics",
}

RUNTIMES = {"native": (NATIVE_INFRA, NATIVE_TASKS, NATIVE_APPS), "docker": (DOCKER_INFRA, DOCKER_TASKS, DOCKER_APPS)}


def overlay_workloads():
    """The Deployments of gitops/overlays/sandbox (the services' single source)."""
    from sandbox.manifests import workloads
    from sandbox.settings import settings

    return workloads(settings().cache_dir / "gitops")


@lru_cache(maxsize=4)
def _registry(runtime: str) -> dict[str, tuple[int, object]]:
    """Built once per process: rendering the overlay hashes every file under gitops/."""
    try:
        infra, tasks, apps = RUNTIMES[runtime]
    except KeyError:
        raise SandboxError(f"unknown runtime {runtime!r}", f"choose from {', '.join(RUNTIMES)}") from None
    entries: dict[str, tuple[int, object]] = {name: (0, path) for name, path in infra.items()}
    entries.update({name: (1, path) for name, path in tasks.items()})
    entries.update({name: (2, path) for name, path in apps.items()})
    for slot, workload in enumerate(overlay_workloads()):
        entries[workload.name] = (3, ("docker", workload.name) if runtime == "docker" else (workload, slot))
    return entries


def component_names(runtime: str = "native") -> list[str]:
    return list(_registry(runtime))


def tier(name: str, runtime: str = "native") -> int:
    return _registry(runtime)[name][0]


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


def load(name: str, runtime: str = "native"):
    """A factory taking (settings, state) and returning the component."""
    _, target = _registry(runtime)[name]
    if isinstance(target, tuple) and target[0] == "docker":
        from sandbox.components.docker.service import service

        return service(target[1])
    if not isinstance(target, str):
        from sandbox.components.service import Service

        return partial(Service, *target)
    module_name, _, class_name = target.partition(":")
    return getattr(import_module(module_name), class_name)
