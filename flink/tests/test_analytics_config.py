"""Fast checks of the job's wiring: arguments, env, connector jars, sink guarantee."""

import analytics_job as aj


def test_defaults(monkeypatch):
    for k in ("KAFKA_BROKERS", "ANALYTICS_WINDOW_SECONDS"):
        monkeypatch.delenv(k, raising=False)
    a = aj.parse_args([])
    assert (a.brokers, a.source_topic, a.clock_topic, a.sink_topic, a.dlq_topic) == (
        "127.0.0.1:19092", "ticket-bookings", "analytics-clock", "analytics-results",
        "ticket-bookings-dlq")
    assert a.window_seconds == 60
    assert 0 < a.out_of_orderness_seconds <= 5


def test_env_feeds_defaults(monkeypatch):
    monkeypatch.setenv("KAFKA_BROKERS", "10.0.0.1:9092")
    monkeypatch.setenv("ANALYTICS_WINDOW_SECONDS", "5")
    a = aj.parse_args(["--group-id", "g"])
    assert (a.brokers, a.window_seconds, a.group_id) == ("10.0.0.1:9092", 5, "g")


def test_transaction_timeout_must_fit_broker_maximum():
    import pytest

    with pytest.raises(SystemExit):
        aj.parse_args(["--transaction-timeout-ms", "3600000"])


def test_kafka_sink_is_exactly_once_with_bounded_transaction_timeout():
    opts = aj.kafka_sink_options("b:9092", "analytics-results", "tx", aj.JobSettings())
    assert opts["sink.delivery-guarantee"] == "exactly-once"
    assert opts["sink.transactional-id-prefix"] == "tx"
    assert aj.JobSettings().checkpoint_interval_ms < int(
        opts["properties.transaction.timeout.ms"]) < 900_000


def test_kafka_source_skips_bad_json():
    opts = aj.kafka_source_options("b:9092", "ticket-bookings", "g")
    assert opts["json.ignore-parse-errors"] == "true"


def test_one_source_reads_bookings_and_the_clock_topic():
    """One source over a topic list (not a second table): per-partition watermarks, the minimum
    over non-idle partitions, and the job graph of a bookings-only job (savepoints still map)."""
    opts = aj.kafka_source_options("b:9092", "ticket-bookings", "g", "analytics-clock")
    assert opts["topic"] == "ticket-bookings;analytics-clock"
    assert aj.kafka_source_options("b:9092", "ticket-bookings", "g")["topic"] == "ticket-bookings"


def test_clock_topic_from_env_can_be_disabled_and_is_never_the_bookings_topic(monkeypatch):
    import pytest

    monkeypatch.setenv("ANALYTICS_CLOCK_TOPIC", "my-clock")
    assert aj.parse_args([]).clock_topic == "my-clock"
    assert aj.parse_args(["--clock-topic", ""]).clock_topic == ""
    with pytest.raises(SystemExit):
        aj.parse_args(["--clock-topic", "ticket-bookings"])


def test_kafka_tables_read_the_clock_topic_with_the_bookings():
    from pyflink.table import EnvironmentSettings, TableEnvironment

    def source_topics(argv):
        t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        args = aj.parse_args(["--brokers", "b:9092", *argv])
        aj.create_kafka_tables(t_env, args.brokers, args.source_topic, args.sink_topic, None,
                               args.group_id, args.transactional_id_prefix,
                               aj.settings_from_args(args), args.clock_topic or None)
        ddl = t_env.execute_sql("SHOW CREATE TABLE bookings").collect()
        with ddl:
            text = next(iter(ddl))[0]
        return next(line for line in text.splitlines() if "'topic'" in line).strip()

    assert source_topics([]) == "'topic' = 'ticket-bookings;analytics-clock',"
    assert source_topics(["--clock-topic", ""]) == "'topic' = 'ticket-bookings',"


def test_connector_jars_from_env(tmp_path):
    jar = tmp_path / "k.jar"
    jar.write_text("")
    env = {"FLINK_CONNECTOR_JARS": f"{jar};file:///opt/x.jar"}
    assert aj.connector_jars(env) == [jar.as_uri(), "file:///opt/x.jar"]


def test_connector_jars_default_to_repo_cache_in_local_mode():
    jars = aj.connector_jars({})
    assert all(j.startswith("file://") and "/.cache/jars/flink/" in j for j in jars)


def test_no_pipeline_jars_under_flink_run_unless_asked():
    assert aj.connector_jars({"PYFLINK_GATEWAY_PORT": "1234"}) == []
    assert aj.connector_jars({"PYFLINK_GATEWAY_PORT": "1", "FLINK_CONNECTOR_JARS": "/x.jar"}) == [
        "file:///x.jar"]


def test_fractional_watermark_bound():
    ddl = aj.bookings_source_ddl("s", {"connector": "x"},
                                 aj.JobSettings(out_of_orderness_seconds=2.5))
    assert "ts - INTERVAL '2.500' SECOND(3)" in ddl


def test_heartbeat_payload_matches_what_the_job_ignores():
    import json

    import heartbeat

    assert heartbeat.HEARTBEAT_TYPE == aj.HEARTBEAT_TYPE
    assert json.loads(heartbeat.heartbeat_payload(now=1.5)) == {"type": "heartbeat",
                                                               "timestamp": 1.5}


def test_heartbeat_writes_the_clock_topic_and_refuses_the_bookings_topic(monkeypatch):
    import heartbeat
    import pytest

    monkeypatch.delenv("ANALYTICS_CLOCK_TOPIC", raising=False)
    assert heartbeat.CLOCK_TOPIC == aj.DEFAULT_CLOCK_TOPIC
    assert aj.DEFAULT_SOURCE_TOPIC in heartbeat.BUSINESS_TOPICS
    with pytest.raises(SystemExit):
        heartbeat.main(["--topic", "ticket-bookings", "--once"])
