"""What Prometheus scrapes: every component's `metrics_targets()` (the services' replicas from the
rendered overlay, the infrastructure's agents and exporters), written as file_sd files that
Prometheus re-reads on change. `up` and each scaling rewrite them, so the list has one source and
a new replica is scraped within seconds. A component that is down stays listed: `up == 0` shows it."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from sandbox.components.base import Component

NAMESPACE = "ticketing"  # the workload's namespace (gitops/base/kustomization.yaml)

# one file per scrape job: targets whose pushed labels are kept (a Pushgateway) need their own
TARGET_FILES = {"sandbox": "targets.json", "pushed": "targets-pushed.json"}


def target_groups(components: Iterable[Component], hpa_port: int) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {job: [] for job in TARGET_FILES}
    for comp in components:
        for target in comp.metrics_targets():
            # namespace: the dashboards filter every query on it, here as in the cluster
            labels = {"job": comp.name, "component": comp.name, "namespace": NAMESPACE,
                      "__metrics_path__": target.path, **target.labels}
            groups["pushed" if target.honor_labels else "sandbox"].append({"targets": [target.address], "labels": labels})
    # the monitor's HPA decisions and replica counts (sandbox/observability/hpa_metrics.py)
    groups["sandbox"].append({"targets": [f"127.0.0.1:{hpa_port}"],
                              "labels": {"job": "hpa", "component": "monitor", "namespace": NAMESPACE}})
    return groups


def write_targets(conf_dir: Path, components: Iterable[Component], hpa_port: int) -> None:
    conf_dir.mkdir(parents=True, exist_ok=True)
    for job, groups in target_groups(components, hpa_port).items():
        path = conf_dir / TARGET_FILES[job]
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups, indent=1))
        tmp.replace(path)  # atomic: Prometheus never reads half a file


def registered_components(settings, state) -> list[Component]:
    """Every component of this runtime's registry, as `up` would start them."""
    from sandbox import components
    from sandbox.endpoints import Endpoints

    endpoints = Endpoints(settings, state)
    return [components.load(name, settings.runtime)(settings, state, endpoints)
            for name in components.component_names(settings.runtime)]


def refresh(settings, state) -> None:
    """Rewrite the targets of a running Prometheus (after `up` or a scaling)."""
    conf_dir = state.conf_dir("prometheus")  # the Prometheus component's
    if conf_dir.exists():
        write_targets(conf_dir, registered_components(settings, state), settings.observability.ports.hpa)
