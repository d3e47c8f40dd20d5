import json

from click.testing import CliRunner

from sandbox.cli import main


def test_env_export_and_json_carry_the_standard_names():
    runner = CliRunner()
    exported = runner.invoke(main, ["env"]).output
    for name in ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "KAFKA_BROKERS", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", "DATABASE_URL",
                 "STORAGE_EMULATOR_HOST", "FLINK_REST_URL"):
        assert f"export {name}=" in exported
    values = json.loads(runner.invoke(main, ["env", "--format", "json"]).output)
    assert values["KAFKA_BROKERS"] == "127.0.0.1:19092"
    dotenv = runner.invoke(main, ["env", "--format", "dotenv"]).output
    assert "DB_PORT=15432" in dotenv.splitlines()


def test_env_follows_port_overrides(monkeypatch):
    monkeypatch.setenv("SANDBOX_PORTS__POSTGRES", "25432")
    from sandbox.settings import settings

    settings.cache_clear()
    try:
        values = json.loads(CliRunner().invoke(main, ["env", "--format", "json"]).output)
    finally:
        settings.cache_clear()
    assert values["DB_PORT"] == "25432" and ":25432/" in values["DATABASE_URL"]


def test_unknown_component_is_one_line_and_exit_1():
    result = CliRunner().invoke(main, ["up", "--only", "redis"])
    assert result.exit_code == 1
    assert "unknown component redis" in result.output
    assert "Traceback" not in result.output


def test_repeated_only_adds_up_instead_of_keeping_the_last():
    """`--only kafka --only redis` must reach redis (and fail on it), not silently drop kafka or redis."""
    result = CliRunner().invoke(main, ["down", "--only", "kafka", "--only", "redis"])
    assert result.exit_code == 1
    assert "unknown component redis" in result.output
    from sandbox.cli import _join_names

    assert _join_names(None, None, ("kafka,postgres", "frontend")) == "kafka,postgres,frontend"
    assert _join_names(None, None, ()) is None
