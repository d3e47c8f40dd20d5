"""Unit tests of the docker runtime's engine: no Docker engine needed (the SDK client is faked)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox.components.docker import base
from sandbox.components.docker.postgres import Postgres
from sandbox.errors import SandboxError
from sandbox.settings import load_settings
from sandbox.state import StateDir


@pytest.fixture
def comp(tmp_path, monkeypatch):
    monkeypatch.setattr(base, "_client", None)
    settings = load_settings(state_dir=tmp_path / "state")
    return Postgres(settings, StateDir(settings.state_dir))


def test_network_name_is_stable_per_state_dir():
    assert base.network_name("/a") == base.network_name("/a")
    assert base.network_name("/a") != base.network_name("/b")
    assert base.network_name("/a").startswith("sandbox-")


def test_labels_name_owner_component_and_role(comp, tmp_path):
    labels = comp.labels("postgres")
    assert labels == {"sandbox.owner": str((tmp_path / "state").resolve()),
                      "sandbox.component": "postgres", "sandbox.role": "postgres"}


def test_resolve_image_prefers_configured_then_stand_in(comp):
    settings = comp.settings
    official, stand_in = base.IMAGES["postgres"]
    assert base.resolve_image("postgres", settings, present=lambda i: True) == official
    assert base.resolve_image("postgres", settings, present=lambda i: i == stand_in) == stand_in
    assert base.resolve_image("postgres", settings, present=lambda i: False) == official  # -> "make images"


def test_no_docker_installed_says_install(monkeypatch):
    monkeypatch.setattr(base.shutil, "which", lambda name: None)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(base.Path, "exists", lambda self: False)
    error = base.engine_error()
    assert "not installed" in str(error) and "apt-get install -y docker.io" in str(error)


def test_engine_down_says_start_it(monkeypatch):
    import docker

    def refuse(**kwargs):
        raise docker.errors.DockerException("Error while fetching server API version")

    monkeypatch.setattr(base, "_client", None)
    monkeypatch.setattr(docker, "from_env", refuse)
    monkeypatch.setattr(base.shutil, "which", lambda name: "/usr/bin/" + name)
    with pytest.raises(SandboxError, match=r"engine is not running.*dockerd & / systemctl start docker"):
        base.client()


class FakeEngine:
    """Just enough of docker.DockerClient for preflight and cleanup."""

    def __init__(self, images=(), containers=(), networks=(), volumes=()):
        self.removed = []
        engine = self

        class Images:
            def get(self, name):
                import docker

                if name not in images:
                    raise docker.errors.ImageNotFound(name)
                return SimpleNamespace(id=name)

        def listing(items):
            def list_(all=False, filters=None):  # noqa: A002 - the SDK's parameter name
                label = (filters or {}).get("label")
                selectors = [s for s in (label if isinstance(label, list) else [label]) if s]
                chosen = [i for i in items if all or i.status == "running"]
                return [i for i in chosen if all_match(i, selectors)]
            return SimpleNamespace(list=list_)

        self.images = Images()
        self.containers = listing(containers)
        self.networks = listing(networks)
        self.volumes = listing(volumes)
        for item in (*containers, *networks, *volumes):
            item.remove = (lambda it: (lambda **kw: engine.removed.append(it.name)))(item)

    def ping(self):
        return True


def all_match(item, selectors: list[str]) -> bool:
    return all(_matches(item, s) for s in selectors)


def _matches(item, selector: str) -> bool:
    key, _, value = selector.partition("=")
    return item.labels.get(key) == value


def _thing(name, **labels):
    return SimpleNamespace(name=name, labels=labels, status="running")


def test_image_missing_says_make_images(comp, monkeypatch):
    monkeypatch.setattr(base, "_client", FakeEngine(images=()))
    with pytest.raises(SandboxError, match=r"image .* for postgres is not present.*make images"):
        comp.preflight()


def test_port_taken_names_component_port_and_setting(comp, monkeypatch):
    import sandbox.process

    monkeypatch.setattr(base, "_client", FakeEngine(images=base.IMAGES["postgres"]))
    monkeypatch.setattr(sandbox.process, "port_in_use", lambda port: True)
    with pytest.raises(SandboxError, match=r"port 15432 for postgres is already in use.*ports\.postgres.*"
                                           r"SANDBOX_PORTS__POSTGRES"):
        comp.preflight()


def test_cleanup_removes_only_what_the_owner_labelled(monkeypatch):
    mine = {"sandbox.owner": "/me"}
    engine = FakeEngine(
        containers=[_thing("c-mine", **mine, **{"sandbox.component": "kafka"}), _thing("c-other", **{"sandbox.owner": "/x"}),
                    _thing("c-unlabelled")],
        networks=[_thing("n-mine", **mine), _thing("n-other")],
        volumes=[_thing("v-mine", **mine)],
    )
    monkeypatch.setattr(base, "_client", engine)
    counts = base.cleanup("/me")
    assert sorted(engine.removed) == ["c-mine", "n-mine", "v-mine"]
    assert counts == {"containers": 1, "networks": 1, "volumes": 1}


def test_killed_container_is_started_again_not_recreated(comp, monkeypatch):
    """`up` after a `docker kill`: the exited container starts again with its data (writable layer)."""
    labels = comp.labels("postgres")
    killed = _thing("c-pg", **labels)
    killed.status = "exited"
    killed.start = lambda: setattr(killed, "status", "running")
    engine = FakeEngine(images=base.IMAGES["postgres"], containers=[killed])
    monkeypatch.setattr(base, "_client", engine)
    assert comp.container_state() == "stopped"
    assert comp.start() == []
    assert killed.status == "running" and engine.removed == []
    assert comp.container_state() == "running"


def test_preflight_ignores_ports_held_by_its_own_containers(comp, monkeypatch):
    import sandbox.process

    half = _thing("c-pg", **comp.labels("postgres"))
    monkeypatch.setattr(base, "_client", FakeEngine(images=base.IMAGES["postgres"], containers=[half]))
    monkeypatch.setattr(sandbox.process, "port_in_use", lambda port: True)
    comp.preflight()  # no "port in use": it is this component's container


def test_docker_runtime_registry_has_every_native_tier():
    from sandbox import components

    assert components.tier("terraform", "docker") == 1
    assert components.tier("analytics", "docker") == 2
    assert {"user-service", "frontend", "booking-service"} <= {
        n for n in components.component_names("docker") if components.tier(n, "docker") == 3}


def _aws_on(image_index: int, tmp_path, monkeypatch):
    """The docker AWS component with the official image (0) or the stand-in (1), and a socket."""
    from sandbox.components.docker import aws

    settings = load_settings(state_dir=tmp_path / "state")
    comp = aws.Aws(settings, StateDir(settings.state_dir))
    monkeypatch.setattr(aws, "engine_socket", lambda: tmp_path / "docker.sock")
    monkeypatch.setattr(base, "resolve_image", lambda key, s, present=None: base.IMAGES[key][image_index])
    return comp


def test_localstack_gets_the_socket_and_lambda_settings(tmp_path, monkeypatch):
    import json

    from sandbox.components.docker import aws

    comp = _aws_on(0, tmp_path, monkeypatch)
    spec = comp.container_specs()[0]
    assert spec.volumes == {str(tmp_path / "docker.sock"): {"bind": "/var/run/docker.sock", "mode": "rw"}}
    assert json.loads(spec.env["LAMBDA_RUNTIME_IMAGE_MAPPING"]) == {"python3.11": aws.LAMBDA_IMAGE}
    assert spec.env["LAMBDA_DOCKER_NETWORK"] == comp.network and spec.env["HOSTNAME_FROM_LAMBDA"] == "aws"
    assert f"-l sandbox.owner={comp.owner}" in spec.env["LAMBDA_DOCKER_FLAGS"]  # `down` removes functions
    assert "-l sandbox.role=lambda" in spec.env["LAMBDA_DOCKER_FLAGS"]


def test_the_aws_stand_in_is_the_projects_emulator_with_its_lambda_log_on_the_host(tmp_path, monkeypatch):
    from sandbox.components.docker import aws

    comp = _aws_on(1, tmp_path, monkeypatch)
    spec = comp.container_specs()[0]
    assert "LAMBDA_DOCKER_FLAGS" not in spec.env and "/var/run/docker.sock" not in str(spec.volumes)
    assert spec.volumes == {str(comp.state.log_file("lambda").parent): {"bind": aws.EMULATOR_LOG_DIR, "mode": "rw"}}
    assert comp.log_files() == [comp.state.log_file("lambda")]


def test_no_image_contains_dynamodb_local():
    from sandbox.images import DOCKER_DIR, specs

    for spec in specs().values():
        folder = spec.context or DOCKER_DIR / spec.name
        for path in [*folder.rglob("*"), *spec.files.values()]:
            if path.is_file():
                assert "DynamoDBLocal" not in path.read_text(errors="ignore"), path
