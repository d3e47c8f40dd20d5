"""A cluster part: a component whose processes run inside the cluster's namespaces."""

from __future__ import annotations

import os
from functools import cached_property

from sandbox.cluster import tools
from sandbox.cluster.context import ClusterContext
from sandbox.components.base import Component, Kind
from sandbox.errors import SandboxError


class ClusterPart(Component):
    kind = Kind.INFRA
    binaries: tuple[str, ...] = ()  # built by scripts/install-cluster-tools.sh

    @cached_property
    def ctx(self) -> ClusterContext:
        return ClusterContext(self.settings, self.state)

    def check_prerequisites(self) -> None:
        if os.geteuid() != 0:
            raise SandboxError("cluster mode needs root (network and mount namespaces, containerd)",
                               "run `sandbox up --cluster` as root, or use the default processes mode")
        absent = tools.missing_packages()
        if absent:
            raise SandboxError(f"cluster mode needs Debian packages: {' '.join(absent)}",
                               "scripts/install-system-deps.sh --cluster (make sandbox-cluster runs it)")

    def install(self) -> None:
        missing = [b for b in self.binaries if b in tools.missing(self.settings.user_cache_dir)]
        if missing:
            tools.build(self.settings.user_cache_dir, missing, lambda line: print(f"  {self.name}: {line}", flush=True))

    def env(self) -> dict[str, str]:
        return {}
