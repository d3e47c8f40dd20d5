"""gitops/docs/adding-new-microservice.md is complete: a throw-away service added to a temporary
copy of the project by its checklist alone (a service folder, a gitops/base folder, the base
kustomization, the overlays' images, its URL in services.env) appears in every runtime's list,
in the image builder's, with its port and URL names, and nothing under sandbox/ was edited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
NEW, NEW_MODULE, NEW_PORT = "hello-service", "hello_service", 8005
PROBE = """
import json
from sandbox import components
from sandbox.images import specs
from sandbox.settings import settings
from sandbox.state import StateDir

s = settings()
state = StateDir(s.state_dir)
native = components.load("hello-service", "native")(s, state)
docker = components.load("hello-service", "docker")(s, state)
print(json.dumps({
    "native": components.component_names("native"), "docker": components.component_names("docker"),
    "images": sorted(specs()), "native_port": native.port, "docker_port": docker.port,
    "native_env": native.env(), "docker_network_env": docker.network_env(),
    "migrations": [list(c) for c in native.workload.init_commands],
}))
"""


def _rename(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            text = path.read_text()
            text = text.replace("user-service", NEW).replace("user_service", NEW_MODULE).replace("8003", str(NEW_PORT))
            path.write_text(text)
    for path in sorted(root.rglob("*user_service*"), reverse=True):
        path.rename(path.with_name(path.name.replace("user_service", NEW_MODULE)))


def _append_after(path: Path, anchor: str, lines: str) -> None:
    text = path.read_text()
    assert anchor in text, f"{anchor!r} not in {path}"
    path.write_text(text.replace(anchor, anchor + lines, 1))


@pytest.fixture
def copy_with_a_new_service(tmp_path) -> Path:
    kustomize = PROJECT / ".cache" / "bin" / "kustomize"
    if not kustomize.exists():
        pytest.fail("kustomize not built (make tools)")
    copy = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info")
    for folder in ("sandbox", "gitops", "services"):
        shutil.copytree(PROJECT / folder, copy / folder, ignore=ignore)
    shutil.copy(PROJECT / "sandbox.toml", copy / "sandbox.toml")
    (copy / ".cache" / "bin").mkdir(parents=True)
    (copy / ".cache" / "bin" / "kustomize").symlink_to(kustomize)
    # the checklist: 1. the code, 2. its gitops/base folder, 3. the base kustomization and its URL,
    # 4. the overlays' images
    shutil.copytree(PROJECT / "services" / "user-service", copy / "services" / NEW, ignore=ignore)
    _rename(copy / "services" / NEW)
    shutil.copytree(PROJECT / "gitops" / "base" / "user-service", copy / "gitops" / "base" / NEW)
    _rename(copy / "gitops" / "base" / NEW)
    _append_after(copy / "gitops" / "base" / "kustomization.yaml", "- user-service\n", f"- {NEW}\n")
    _append_after(copy / "gitops" / "base" / "config" / "services.env", "USER_SERVICE_URL=http://user-service:8003\n",
                  f"HELLO_URL=http://{NEW}:{NEW_PORT}\n")
    for overlay in ("sandbox", "aws", "cluster"):
        _append_after(copy / "gitops" / "overlays" / overlay / "kustomization.yaml",
                      "- name: ticketing/user-service\n  newTag: 0.1.0\n", f"- name: ticketing/{NEW}\n  newTag: 0.1.0\n")
    return copy


def test_a_new_service_needs_only_the_checklist(copy_with_a_new_service, tmp_path):
    copy = copy_with_a_new_service
    env = {**os.environ, "PYTHONPATH": str(copy), "SANDBOX_STATE_DIR": str(tmp_path / "state")}
    env.pop("SANDBOX_SETTINGS_FILE", None)
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=copy, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert NEW in seen["native"] and NEW in seen["docker"] and NEW in seen["images"]
    assert seen["native_port"] == seen["docker_port"] == NEW_PORT  # no ports.<name> setting needed
    assert seen["native_env"] == {"HELLO_SERVICE_URL": f"http://127.0.0.1:{NEW_PORT}",
                                  "HELLO_URL": f"http://127.0.0.1:{NEW_PORT}"}
    assert seen["docker_network_env"]["HELLO_URL"] == f"http://{NEW}:{NEW_PORT}"
    assert seen["migrations"] == []  # user-service has no initContainers; the copy neither
    assert not subprocess.run(["diff", "-rq", "-x", "__pycache__", str(PROJECT / "sandbox"), str(copy / "sandbox")],
                              capture_output=True).returncode, "the checklist must not need sandbox/ edits"
