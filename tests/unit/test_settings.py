import pytest

from sandbox.errors import SandboxError
from sandbox.settings import load_settings


def test_defaults_come_from_the_project_toml():
    settings = load_settings()
    assert settings.ports.kafka == 19092
    assert settings.ports.postgres == 15432
    assert "ticket-bookings" in settings.kafka.topics and "analytics-results" in settings.kafka.topics


def test_env_overrides_a_nested_port(monkeypatch):
    monkeypatch.setenv("SANDBOX_PORTS__KAFKA", "29092")
    assert load_settings().ports.kafka == 29092


def test_bad_value_names_the_key_and_the_env_var(monkeypatch):
    monkeypatch.setenv("SANDBOX_PORTS__KAFKA", "not-a-port")
    with pytest.raises(SandboxError) as err:
        load_settings()
    message = str(err.value)
    assert "ports.kafka" in message and "SANDBOX_PORTS__KAFKA" in message
    assert "\n" not in message


def test_privileged_port_is_rejected(monkeypatch):
    monkeypatch.setenv("SANDBOX_PORTS__AWS", "80")
    with pytest.raises(SandboxError, match="ports.aws"):
        load_settings()


def test_unknown_key_in_the_settings_file_is_an_error(tmp_path, monkeypatch):
    settings_file = tmp_path / "sandbox.toml"
    settings_file.write_text("[ports]\nkafak = 1234\n")
    monkeypatch.setenv("SANDBOX_SETTINGS_FILE", str(settings_file))
    with pytest.raises(SandboxError, match="ports.kafak"):
        load_settings()


def test_port_setting_tells_both_ways_to_change_it():
    hint = load_settings().port_setting("postgres")
    assert "ports.postgres" in hint and "SANDBOX_PORTS__POSTGRES" in hint
