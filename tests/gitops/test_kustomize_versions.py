"""The manifests are portable across kustomize versions: every target of `make gitops-check` renders
the same objects with the pinned kustomize (.cache/bin/kustomize) and with the floor, the oldest
kustomize the cluster side may bring (.cache/bin/kustomize-v5.4.2: kubectl 1.31's; Argo CD v3.6.1
bundles v5.8.3), and with the machine's `kubectl kustomize` where kubectl 1.31+ is installed."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.gitops.conftest import ROOT, tool

CHECK = ROOT / "scripts" / "gitops-check.sh"
INSTALL = ROOT / "scripts" / "install-gitops-tools.sh"


def _check_script() -> str:
    return CHECK.read_text()


def targets() -> list[tuple[str, str]]:
    """(name, kustomization dir) of every target in gitops-check.sh's TARGETS."""
    block = re.search(r"^TARGETS=\((.*?)^\)", _check_script(), re.S | re.M)
    assert block, "no TARGETS=( ... ) in scripts/gitops-check.sh"
    found = re.findall(r'^\s*"([\w-]+):([^:"]+):', block.group(1), re.M)
    assert found, "TARGETS of scripts/gitops-check.sh is empty"
    return found


def floor_name() -> str:
    m = re.search(r'KUSTOMIZE_FLOOR="\$\{KUSTOMIZE_FLOOR:-([\w.-]+)\}"', _check_script())
    assert m, "no KUSTOMIZE_FLOOR default in scripts/gitops-check.sh"
    return m.group(1)


def canonical(stream: str) -> list[dict]:
    """The objects of a render, order-independent (kustomize's document order is not semantic)."""
    objs = [d for d in yaml.safe_load_all(stream) if d]
    return sorted(objs, key=lambda o: (o.get("apiVersion", ""), o.get("kind", ""),
                                       o.get("metadata", {}).get("namespace", ""), o["metadata"]["name"]))


def assert_same(a: list[dict], b: list[dict], label_a: str, label_b: str) -> None:
    if a == b:
        return
    dump = [yaml.safe_dump_all(x, sort_keys=True).splitlines() for x in (a, b)]
    diff = list(difflib.unified_diff(*dump, label_a, label_b, lineterm="", n=2))
    pytest.fail(f"{label_a} and {label_b} differ ({len(diff)} diff lines):\n" + "\n".join(diff[:40]))


def build(cmd: list[str], path: Path) -> str:
    proc = subprocess.run([*cmd, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{' '.join(cmd)} {path.relative_to(ROOT)} failed:\n{proc.stderr[-1500:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def pinned() -> str:
    found = tool("kustomize")
    if found is None:
        pytest.skip("kustomize not installed: run scripts/install-gitops-tools.sh")
    return found


@pytest.fixture(scope="module")
def floor() -> str:
    found = ROOT / ".cache" / "bin" / floor_name()
    if not found.exists():
        pytest.skip(f"{floor_name()} not installed: run scripts/install-gitops-tools.sh")
    return str(found)


def test_the_floor_is_a_pinned_tool():
    """gitops-check's floor is a TOOLS key the installer builds by default (so `make tools` has it)."""
    script = INSTALL.read_text()
    name = floor_name()
    version = name.removeprefix("kustomize-")
    assert f'[{name}]="sigs.k8s.io/kustomize/kustomize/v5@{version}"' in script
    default = re.search(r"^DEFAULT=\((.*)\)", script, re.M)
    assert default and name in default.group(1).split()


@pytest.mark.parametrize(("name", "path"), targets(), ids=[t[0] for t in targets()])
def test_floor_renders_identically(pinned, floor, name, path):
    a = canonical(build([pinned, "build"], ROOT / path))
    b = canonical(build([floor, "build"], ROOT / path))
    assert a, f"{name}: empty render"
    assert_same(a, b, f"kustomize {name}", f"{floor_name()} {name}")


def _kubectl_minor() -> int | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True)
    m = re.search(r'"minor":\s*"(\d+)', out.stdout)
    return int(m.group(1)) if out.returncode == 0 and m else None


@pytest.mark.parametrize(("name", "path"), targets(), ids=[t[0] for t in targets()])
def test_kubectl_kustomize_renders_identically(pinned, name, path):
    """Where a kubectl 1.31+ is installed, its embedded kustomize renders the same (1.32: v5.5.0)."""
    minor = _kubectl_minor()
    if minor is None or minor < 31:
        pytest.skip(f"no kubectl 1.31+ on PATH (found minor {minor})")
    a = canonical(build([pinned, "build"], ROOT / path))
    b = canonical(build(["kubectl", "kustomize"], ROOT / path))
    assert_same(a, b, f"kustomize {name}", f"kubectl 1.{minor} kustomize {name}")


def test_gitops_check_fails_when_the_floor_renders_differently(pinned, floor, tmp_path):
    """The gate bites: a floor kustomize whose render differs (here: one replica more) fails
    gitops-check with a short diff naming the object."""
    if tool("gitops-validate") is None or tool("kube-score") is None:
        pytest.skip("gitops-validate/kube-score not installed: run scripts/install-gitops-tools.sh")
    fake = tmp_path / "kustomize-fake"
    fake.write_text(f"#!/bin/sh\n'{pinned}' \"$@\" | sed 's/replicas: 2/replicas: 3/'\n")
    fake.chmod(0o755)
    env = {**os.environ, "KUSTOMIZE_FLOOR": str(fake)}
    proc = subprocess.run([str(CHECK)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "FAIL kustomize-fake renders gitops/overlays/sandbox differently" in proc.stdout
    assert "# Deployment/" in proc.stdout and "+  replicas: 3" in proc.stdout
    assert "gitops-check: FAILED" in proc.stdout


def test_the_aws_and_cluster_overlays_drop_every_analytics_job_object(pinned):
    """aws and cluster delete the analytics-job workload by its name label (one patch that every
    kustomize version accepts); the sandbox keeps it."""
    def named(path: str) -> set[str]:
        objs = canonical(build([pinned, "build"], ROOT / path))
        return {o["kind"] for o in objs if o["metadata"]["name"] == "analytics-job"
                or o["metadata"].get("labels", {}).get("app.kubernetes.io/name") == "analytics-job"}
    assert named("gitops/overlays/sandbox") >= {"Deployment", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy"}
    assert named("gitops/overlays/aws") == set()
    assert named("gitops/overlays/cluster") == set()
