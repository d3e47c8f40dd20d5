"""Fixtures: the rendered overlays (kustomize build), skipped with the reason when kustomize is missing."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = ROOT / ".cache" / "bin"
WORKLOAD_OVERLAYS = ["sandbox", "aws", "cluster"]


def tool(name: str) -> str | None:
    local = TOOLS_BIN / name
    return str(local) if local.exists() else shutil.which(name)


def render(path: Path) -> list[dict]:
    kustomize = tool("kustomize")
    if kustomize is None:
        pytest.skip("kustomize not installed: run scripts/install-gitops-tools.sh")
    out = subprocess.run([kustomize, "build", str(path)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="session", params=WORKLOAD_OVERLAYS)
def workload(request) -> list[dict]:
    """Every object of one workload overlay (sandbox, aws, cluster)."""
    return render(ROOT / "gitops" / "overlays" / request.param)


@pytest.fixture(scope="session")
def sandbox_objects() -> list[dict]:
    return render(ROOT / "gitops" / "overlays" / "sandbox")


@pytest.fixture(scope="session")
def aws_objects() -> list[dict]:
    return render(ROOT / "gitops" / "overlays" / "aws")


@pytest.fixture(scope="session")
def cluster_objects() -> list[dict]:
    return render(ROOT / "gitops" / "overlays" / "cluster")
