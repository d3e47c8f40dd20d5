"""The service folder checks itself: its files, pinned requirements and a non-root image."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTTP_SERVICE = (ROOT / "openapi.yaml").exists()


@pytest.mark.parametrize("name", ["Dockerfile", "requirements.txt", "requirements-test.txt", "README.md", "pytest.ini",
                                  ".dockerignore"])
def test_service_files_exist(name):
    assert (ROOT / name).is_file()


@pytest.mark.skipif(not HTTP_SERVICE, reason="not an HTTP service")
def test_http_service_is_served_by_a_production_server():
    """gunicorn (a gunicorn.conf.py here) or Granian (svc_common.serve in the image's CMD), never Flask's dev server."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert (ROOT / "gunicorn.conf.py").is_file() or '"svc_common.serve"' in dockerfile
    assert "flask run" not in dockerfile


def test_runtime_requirements_are_pinned():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.match(r"^[A-Za-z0-9_.\[\]-]+==[0-9][^ ]*$", line), line


def test_image_is_python_311_slim_and_not_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM python:3.11-slim") or "\nFROM python:3.11-slim" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.M)
    assert users and users[-1] not in ("root", "0")
