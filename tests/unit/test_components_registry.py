import pytest

from sandbox import components
from sandbox.errors import SandboxError


def test_all_five_native_components():
    assert components.component_names() == ["aws", "kafka", "postgres", "gcs", "flink"]


def test_only_keeps_registry_order():
    assert components.select("postgres,kafka") == ["kafka", "postgres"]


def test_unknown_component_lists_the_valid_names():
    with pytest.raises(SandboxError) as err:
        components.select("kafka,redis")
    assert "redis" in str(err.value) and "aws, kafka, postgres, gcs, flink" in str(err.value)


def test_unknown_runtime():
    with pytest.raises(SandboxError, match="native"):
        components.component_names("podman")
