"""Port sets for a second sandbox beside the default one (the bench, `make test-docker`)."""

from __future__ import annotations

from sandbox.components import overlay_workloads
from sandbox.settings import ClusterPorts, ObservabilityPorts, Ports


def shifted_env(shift: int, replica_base: int) -> dict[str, str]:
    """SANDBOX_PORTS__* with every default port moved by `shift`, the services' (their
    containerPorts) too, and the replica range put at `replica_base`."""
    env = {f"SANDBOX_PORTS__{name.upper()}": str(field.default + shift) for name, field in Ports.model_fields.items()}
    env.update({f"SANDBOX_CLUSTER__PORTS__{name.upper()}": str(field.default + shift)
                for name, field in ClusterPorts.model_fields.items()})
    env.update({f"SANDBOX_OBSERVABILITY__PORTS__{name.upper()}": str(field.default + shift)
                for name, field in ObservabilityPorts.model_fields.items()})
    env.update({f"SANDBOX_PORTS__{w.name.upper().replace('-', '_')}": str(w.port + shift) for w in overlay_workloads()})
    return {**env, "SANDBOX_PORTS__REPLICA_BASE": str(replica_base)}


def docker_test_env() -> dict[str, str]:
    """The docker runtime's instance for `make test-docker` and its bench, beside a native sandbox
    on the defaults: every port +400, replicas from 18400."""
    return shifted_env(400, replica_base=18400)


def cluster_test_env() -> dict[str, str]:
    """Cluster mode's instance for `make test-cluster` and its bench, beside a native sandbox on the
    defaults and the docker one: every port +600, replicas from 18600."""
    return shifted_env(600, replica_base=18600)
