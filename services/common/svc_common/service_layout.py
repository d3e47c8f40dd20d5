"""The checks a service folder runs on itself, shared so every service is held to the same rules.

Each service's ``tests/test_*_layout.py`` calls them with its own folder (``checks(http_service)``
says which apply): the files a service folder has, pinned runtime requirements, a
python:3.11-slim image that does not run as root and, for an HTTP service, an OpenAPI document,
a production server (Granian via ``svc_common.serve``) and its app factory in ``<package>/app.py``.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

FILES = ("Dockerfile", "requirements.txt", "requirements-test.txt", "README.md", "pytest.ini", ".dockerignore")
_PINNED = re.compile(r"^[A-Za-z0-9_.\[\]-]+==[0-9][^ ]*$")


def check_files(root: Path) -> None:
    missing = [name for name in FILES if not (root / name).is_file()]
    assert not missing, f"{root.name} lacks {missing}"


def check_requirements_pinned(root: Path) -> None:
    for line in (root / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert _PINNED.match(line), line


def check_image_is_python_311_slim_and_not_root(root: Path) -> None:
    dockerfile = (root / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim") or "\nFROM python:3.11-slim" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")


def check_http_service(root: Path) -> None:
    """An OpenAPI document, and never Flask's dev server."""
    assert (root / "openapi.yaml").is_file()
    dockerfile = (root / "Dockerfile").read_text()
    assert "flask run" not in dockerfile
    assert '"svc_common.serve"' in dockerfile


def check_app_factory(root: Path) -> None:
    """The Flask app factory lives in the same module in every service: ``<package>.app:create_app``."""
    package = root.name.replace("-", "_")
    app_module = root / package / "app.py"
    assert app_module.is_file() and "\ndef create_app(" in app_module.read_text(), f"no create_app in {app_module}"
    assert f'"{package}.app:create_app"' in (root / "Dockerfile").read_text()


def checks(http_service: bool) -> list[Callable[[Path], None]]:
    common = [check_files, check_requirements_pinned, check_image_is_python_311_slim_and_not_root]
    return [*common, check_http_service, check_app_factory] if http_service else common
