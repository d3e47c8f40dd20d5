"""`make gitops-check` (scripts/gitops-check.sh): kustomize, strict schema validation, kube-score."""

import subprocess

import pytest

from tests.gitops.conftest import ROOT, tool

SCRIPT = ROOT / "scripts" / "gitops-check.sh"


def test_gitops_check_passes():
    missing = [t for t in ("kustomize", "kustomize-v5.4.2", "gitops-validate", "kube-score") if tool(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run scripts/install-gitops-tools.sh")
    proc = subprocess.run([str(SCRIPT)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gitops-check: all passed" in proc.stdout


def test_validator_rejects_unknown_fields(tmp_path):
    validator = tool("gitops-validate")
    if validator is None:
        pytest.skip("gitops-validate not installed: run scripts/install-gitops-tools.sh")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep}\n"
        "spec:\n  replica: 2\n  selector: {matchLabels: {a: b}}\n"
        "  template:\n    metadata: {labels: {a: b}}\n    spec: {containers: [{name: c, image: i:1}]}\n"
        "---\napiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: app}\n"
        "spec: {destination: {server: s}, source: {repoURL: r, pathh: p}}\n"
        "---\napiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: sm}\n"
        "spec: {selector: {}, endpoints: [{port: http, interval: 15}]}\n"
    )
    proc = subprocess.run([validator, str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1
    assert 'unknown field "spec.replica"' in proc.stderr
    assert 'unknown field "spec.source.pathh"' in proc.stderr
    assert "ServiceMonitor" in proc.stderr  # interval: 15 is not a string
