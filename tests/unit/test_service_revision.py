"""A service's revision (what `up` compares to roll out new code) follows the code the replicas load
and the pod template, and ignores tests, docs and bytecode."""
import pytest

from sandbox.components import service as service_module
from sandbox.manifests import Workload
from sandbox.settings import settings
from sandbox.state import StateDir


@pytest.fixture
def services_dir(tmp_path, monkeypatch):
    for rel in ("shop/shop/app.py", "shop/tests/test_app.py", "shop/README.md", "common/svc_common/x.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("v1\n")
    monkeypatch.setattr(service_module, "SERVICES_DIR", tmp_path)
    return tmp_path


def revision(env=None):
    workload = Workload("shop", ("python", "-m", "shop"), env or {"A": "1"}, 8001, 2, 4, 70, 100)
    return service_module.Service(workload, 0, settings(), StateDir(settings().state_dir)).revision()


def test_code_and_pod_template_change_the_revision(services_dir):
    first = revision()
    assert revision() == first  # deterministic
    (services_dir / "shop/shop/app.py").write_text("v2\n")
    second = revision()
    assert second != first
    (services_dir / "common/svc_common/x.py").write_text("v2\n")
    assert revision() != second
    assert revision({"A": "2"}) != revision()


def test_tests_docs_and_bytecode_do_not(services_dir):
    first = revision()
    (services_dir / "shop/tests/test_app.py").write_text("v2\n")
    (services_dir / "shop/README.md").write_text("v2\n")
    (services_dir / "shop/shop/__pycache__").mkdir()
    (services_dir / "shop/shop/__pycache__/app.cpython-311.pyc").write_bytes(b"\0")
    (services_dir / "shop/.ruff_cache").mkdir()
    (services_dir / "shop/.ruff_cache/x").write_text("v2\n")
    assert revision() == first
