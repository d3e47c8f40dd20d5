"""The checks a service folder runs on itself, shared so every service is held to the same rules.

Each service's ``tests/test_*_layout.py`` calls them with its own folder (``checks(http_service)``
says which apply): the files a service folder has, pinned runtime requirements, an installable
package (``pyproject.toml``) that is installed from this folder, a python:3.11-slim image that does
not run as root and copies only from its own folder (its build context) and, for an HTTP service,
an OpenAPI document, a production server (Granian via ``svc_common.serve``) and its app factory in
``<package>/app.py``.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

FILES = ("Dockerfile", "requirements.txt", "pyproject.toml", "README.md", "pytest.ini", ".dockerignore")
_PINNED = re.compile(r"^[A-Za-z0-9_.\[\]-]+==[0-9][^ ]*$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]+")


def check_files(root: Path) -> None:
    missing = [name for name in FILES if not (root / name).is_file()]
    assert not missing, f"{root.name} lacks {missing}"


def _requirements(root: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in (root / "requirements.txt").read_text().splitlines())
    return [line for line in lines if line]


def check_requirements_pinned(root: Path) -> None:
    for line in _requirements(root):
        assert _PINNED.match(line), line


def _project(root: Path) -> tuple[dict, dict]:
    """``[project]`` and ``[tool.setuptools]`` of the folder's pyproject.toml."""
    assert (root / "pyproject.toml").is_file(), f"{root.name} has no pyproject.toml"
    data = tomllib.loads((root / "pyproject.toml").read_text())
    return data["project"], data.get("tool", {}).get("setuptools", {})


def _normalized(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", _NAME.match(requirement)[0]).lower()


def check_pyproject(root: Path) -> None:
    """An installable package named ``ticketing-<folder>`` with an explicit package list (no discovery
    that could pick up tests/), a ``test`` extra, and as runtime dependencies the pins of
    requirements.txt (which the image installs) plus the sibling packages it imports (svc_common)."""
    project, setuptools = _project(root)
    assert project["name"] == f"ticketing-{root.name}", project["name"]
    assert isinstance(setuptools.get("packages"), list) or setuptools.get("py-modules"), "list the packages explicitly"
    assert "test" in project.get("optional-dependencies", {}), "no test extra"
    siblings = {_normalized(_project(path.parent)[0]["name"]) for path in root.parent.glob("*/pyproject.toml")}
    third_party = [dep for dep in project.get("dependencies", []) if _normalized(dep) not in siblings]
    assert sorted(third_party) == sorted(_requirements(root)), "pyproject.toml dependencies differ from requirements.txt"


_IMPORT_INSTALLED = """
import importlib, json, sys
from importlib import metadata
try:
    direct_url = json.loads(metadata.distribution(sys.argv[1]).read_text("direct_url.json") or "{}")
except metadata.PackageNotFoundError:
    direct_url = None
print(json.dumps({"direct_url": direct_url, "files": [importlib.import_module(m).__file__ for m in sys.argv[2:]]}))
"""


def check_installed(root: Path) -> None:
    """Importable as the installed package, not through a path edit: in a fresh interpreter with
    nothing added to sys.path (``-P``, no PYTHONPATH, not run from the folder) its distribution is
    installed editable from this folder (``make venv``) and each of its top-level modules imports
    from here."""
    project, setuptools = _project(root)
    modules = [name for name in setuptools.get("packages", []) if "." not in name] + setuptools.get("py-modules", [])
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-P", "-c", _IMPORT_INSTALLED, project["name"], *modules], cwd="/",
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout)
    direct_url = found["direct_url"]
    assert direct_url is not None, f"{project['name']} is not installed (make venv)"
    assert direct_url.get("url") == root.resolve().as_uri() and direct_url.get("dir_info", {}).get("editable"), \
        f"{project['name']} is not installed editable from {root}: {direct_url}"
    for module, file in zip(modules, found["files"], strict=True):
        assert Path(file).resolve().is_relative_to(root.resolve()), f"{module} is imported from {file}, not from {root}"


def check_image_is_python_311_slim_and_not_root(root: Path) -> None:
    dockerfile = (root / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim") or "\nFROM python:3.11-slim" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


def check_image_context_is_the_folder(root: Path) -> None:
    """The Dockerfile copies only from its own folder (the build context), or from wheels/, which
    ``python -m sandbox.images`` adds to it (svc_common and any other sibling package as wheels)."""
    for line in re.findall(r"^COPY\s+(.+)$", (root / "Dockerfile").read_text(), flags=re.MULTILINE):
        *sources, _ = [word for word in line.split() if not word.startswith("--")]
        for source in sources:
            path = Path(source)
            assert not path.is_absolute() and ".." not in path.parts, f"COPY {source}: outside {root.name}/"
            assert path.parts[:1] == ("wheels",) or (root / path).exists() or any(root.glob(source)), \
                f"COPY {source}: not in {root.name}/"


def check_http_service(root: Path) -> None:
    """An OpenAPI document, which the image carries beside the package (the service serves it at
    /openapi.json and /docs, ``svc_common.openapi``), and never Flask's dev server."""
    assert (root / "openapi.yaml").is_file()
    dockerfile = (root / "Dockerfile").read_text()
    assert re.search(r"^COPY\s+openapi\.yaml\s+\./", dockerfile, flags=re.MULTILINE), "the image lacks openapi.yaml"
    assert "flask run" not in dockerfile
    assert '"svc_common.serve"' in dockerfile


def check_app_factory(root: Path) -> None:
    """The Flask app factory lives in the same module in every service: ``<package>.app:create_app``."""
    package = root.name.replace("-", "_")
    app_module = root / package / "app.py"
    assert app_module.is_file() and "\ndef create_app(" in app_module.read_text(), f"no create_app in {app_module}"
    assert f'"{package}.app:create_app"' in (root / "Dockerfile").read_text()


def checks(http_service: bool) -> list[Callable[[Path], None]]:
    common = [check_files, check_requirements_pinned, check_pyproject, check_installed,
              check_image_is_python_311_slim_and_not_root, check_image_context_is_the_folder]
    return [*common, check_http_service, check_app_factory] if http_service else common
