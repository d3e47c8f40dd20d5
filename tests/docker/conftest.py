"""Docker runtime tests: a private state dir and ports +400 (the native sandbox uses the defaults,
another checkout +200), so nothing here touches a running sandbox. Skipped without a Docker engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sandbox.errors import SandboxError
from sandbox.instances import docker_test_env

STATE_DIR = str(Path(__file__).resolve().parents[2] / ".sandbox-docker")  # also `make test-docker`'s flows
PRIVATE_ENV = {"SANDBOX_STATE_DIR": STATE_DIR, **docker_test_env()}  # = Makefile's


def engine_problem() -> str | None:
    from sandbox.components.docker import base

    try:
        base.client()
    except SandboxError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="session")
def docker_settings():
    problem = engine_problem()
    if problem:
        pytest.skip(f"no usable Docker engine: {problem}")
    saved = {k: os.environ.get(k) for k in PRIVATE_ENV}
    os.environ.update(PRIVATE_ENV)
    from sandbox.settings import load_settings

    try:
        yield load_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def docker_components(docker_settings):
    """Every docker infra component whose image is present, started once and healthy; removed at the end
    with cleanup(owner), which must leave no container, network or volume."""
    from sandbox import components
    from sandbox.components.base import Kind
    from sandbox.components.docker import base
    from sandbox.state import StateDir

    state = StateDir(docker_settings.state_dir)
    state.ensure()
    comps = {}
    for name in components.names_of(Kind.INFRA, "docker"):
        comps[name] = components.load(name, "docker")(docker_settings, state)
    owner = base.owner_of(state)
    base.cleanup(owner)  # leftovers of an interrupted run
    startable = {n: c for n, c in comps.items() if base.image_present(c.image)}
    errors = {}
    for name, comp in startable.items():
        try:
            comp.preflight()
            comp.prepare()
            comp.start()
        except SandboxError as exc:
            errors[name] = str(exc)
    for name, comp in startable.items():
        if name not in errors:
            try:
                comp.wait_healthy(180)
            except SandboxError as exc:
                errors[name] = str(exc)
    try:
        yield {"components": comps, "startable": startable, "errors": errors}
    finally:
        base.cleanup(owner)


def need(docker_components, name):
    """The started component, or a skip (image not built) / failure (did not start) saying why."""
    if name not in docker_components["startable"]:
        pytest.skip(f"image for {name} not present: make images")
    if name in docker_components["errors"]:
        pytest.fail(docker_components["errors"][name])
    return docker_components["components"][name]
