"""Scenario targets: where the suites run. One setting, ``SCENARIO_TARGET``, picks the target.

A target answers four questions the tests ask and nothing else: bring the system up (or reuse it),
its endpoints (the names of ``sandbox env``), and -- for fault tests -- how to break one component,
whether the platform noticed, and how to heal it. Tests never import a target module directly.
"""

from __future__ import annotations

import importlib

from scenarios.targets.base import Target, UnsupportedFault

# name -> "module:Class"; imported lazily so a cloud target's SDKs are optional.
TARGETS: dict[str, str] = {
    "sandbox": "scenarios.targets.sandbox:SandboxTarget",
    "docker": "scenarios.targets.docker:DockerTarget",  # the sandbox on `--runtime docker`
    "cluster": "scenarios.targets.cluster:ClusterTarget",  # the services in the sandbox's Kubernetes
    # "aws": "scenarios.targets.aws:AwsTarget",   # not implemented yet: see scenarios/README.md
}


def get_target(name: str) -> Target:
    """The target called ``name``; an unknown name is an error listing the valid ones."""
    try:
        spec = TARGETS[name]
    except KeyError:
        raise ValueError(f"unknown SCENARIO_TARGET {name!r}; valid: {', '.join(sorted(TARGETS))}") from None
    module, cls = spec.split(":")
    return getattr(importlib.import_module(module), cls)()


__all__ = ["TARGETS", "Target", "UnsupportedFault", "get_target"]
