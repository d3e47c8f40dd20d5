import pytest

from sandbox import components
from sandbox.errors import SandboxError


def test_infra_then_tasks_then_services_and_the_job():
    names = components.component_names()
    assert names[:5] == ["aws", "kafka", "postgres", "gcs", "flink"]
    assert [components.tier(n) for n in names[:5]] == [0] * 5
    assert components.tier("terraform") == 1
    assert components.tier("gateway") == components.tier("analytics") == 2
    for name in ("frontend", "booking-service", "booking-consumer", "event-catalog", "user-service"):
        assert components.tier(name) == 3


def test_every_service_folder_is_a_deployment_of_the_sandbox_overlay():
    from sandbox.components.service import SERVICES_DIR

    folders = {p.name for p in SERVICES_DIR.iterdir() if (p / "Dockerfile").exists()}
    lambdas = {"ticket-generator"}  # deployed by terraform as a Lambda, not a process
    assert folders - lambdas == {n for n in components.component_names() if components.tier(n) == 3}


def test_only_keeps_registry_order():
    assert components.select("postgres,kafka") == ["kafka", "postgres"]


def test_unknown_component_lists_the_valid_names():
    with pytest.raises(SandboxError) as err:
        components.select("kafka,redis")
    assert "redis" in str(err.value) and "aws, kafka, postgres, gcs, flink" in str(err.value)


def test_unknown_runtime():
    with pytest.raises(SandboxError, match="native"):
        components.component_names("podman")
