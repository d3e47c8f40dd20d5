"""Booking analytics: per-event tumbling-window totals, in event time.

Reads booking JSON from Kafka topic ``ticket-bookings``::

    {"booking_id": "b-1", "event_id": 7, "user_id": "u-1", "ticket_count": 2,
     "timestamp": 1795615200.25}           # epoch seconds, may be fractional

and the job's event-time clock from topic ``analytics-clock`` (``heartbeat.py`` writes
``{"type": "heartbeat", "timestamp": <now>}`` there; see "Event time when bookings stop")

and writes one JSON record per (event, window) to ``analytics-results``::

    {"event_id": 7, "window_start": "2026-11-25T14:00:00Z",
     "window_end": "2026-11-25T14:01:00Z", "total_tickets": 5, "booking_count": 2}

Layout (pure transformation apart from wiring, so tests run it without servers):

* :func:`bookings_source_ddl` -- the source schema: typed fields, the event-time column ``ts``
  derived from ``timestamp``, and the bounded-out-of-orderness watermark. The connector is
  injected (Kafka in :func:`main`, a JSON file in the tests), the schema is the same.
* :func:`results_sink_ddl` / :func:`dead_letter_sink_ddl` -- sink schemas, connector injected.
* :func:`build_pipeline` -- the transformation: a ``StatementSet`` with two INSERTs over one
  source scan (results + dead letters). It only needs a ``TableEnvironment`` and table names.
* :func:`main` -- Kafka wiring from CLI args / env, checkpointing, exactly-once sink, execute.

Event time and determinism
    The window is assigned from the booking's own ``timestamp`` (not from arrival time), so a
    replay of the same bookings gives the same windows. A window closes (and is emitted once,
    insert-only) when the watermark -- the highest timestamp seen minus the out-of-orderness
    bound -- passes its end. Bookings up to ``--out-of-orderness-seconds`` out of order are
    counted in the right window; bookings that arrive after their window has closed are
    *late* and are dropped by the window operator (they are not in any total; Flink counts
    them in the operator metric ``numLateRecordsDropped``). Kafka partitions that receive no
    data for ``--idle-timeout-seconds`` are marked idle so they do not hold the watermark back.

Event time when bookings stop: a clock topic of its own, read by the same source
    Idleness alone cannot close the last window: once *every* partition is idle no watermark
    moves at all, so the window would wait for the next booking. Something must carry the
    time, and it must not be the business topic (consumers of ``ticket-bookings`` see
    bookings only). So ``heartbeat.py`` writes ``{"type": "heartbeat", "timestamp": <now>}``
    to every partition of ``--clock-topic`` (``analytics-clock``) every 0.5 s, and the one
    Kafka source reads ``ticket-bookings;analytics-clock`` (a topic list). Watermarks are per
    partition and the source's watermark is the minimum over the partitions that are not idle:
    while a booking partition is active it holds event time at its own bookings (so the
    watermark is never ahead of where heartbeats inside that partition used to put it: no
    booking counted before is late now); once every booking partition has been quiet for the
    idle timeout, the clock partitions alone move the watermark and a quiet system closes
    windows on time. Ticks are recognised by ``type`` and never counted nor dead-lettered (so
    anything else written to the clock topic is read as a booking: only the heartbeat writes
    there). The clock must keep ticking: a clock partition idle like the others moves nothing
    (heartbeat down = windows wait for the next booking, as before). Known gap, not new: a
    partition's watermark counts only from its first record, so right after a (re)start, ticks
    read before a booking partition's first backlog record could overtake that backlog (as
    heartbeats in another partition could when they shared the bookings topic).
    Why this and not the alternatives:

    * source idleness only (``table.exec.source.idle-timeout`` / ``withIdleness``): a fully
      idle job has no watermark to advance; windows would close only with the next booking;
    * processing-time windows: a window would hold what *arrived* in it, not what was booked
      in it -- replays, restarts and backlogs would change totals; the scenarios check exact
      event-time totals (and that a booking three windows late is dropped);
    * a second source table unioned in SQL: the same min-over-inputs watermark, but a second
      source operator changes the job graph (savepoints of the running job would no longer
      map onto it) and a branch filtered down to "no rows" may be pruned by the planner,
      taking its watermark with it. One source over a topic list keeps the graph as it was;
    * watermark alignment (``scan.watermark.alignment.*``) is not needed: it bounds how far a
      split may run *ahead* of the slowest one, while correctness here needs only the minimum,
      which the source already takes.

Latency: a window is visible to read_committed consumers at about
``max(window_end + out-of-orderness (2 s), last booking + idle timeout (5 s)) + clock tick
(<= 0.5 s) + <= checkpoint interval (1 s)`` plus commit time. Measured in the sandbox with no
other traffic (10 s windows, 2 cores under load): 2.6-3.8 s after window end for a booking
more than ~3 s before it; 5.5-6.3 s after the booking for one in the window's last 2.5 s.

Bad records never stop the job
    * Non-JSON payloads are skipped by the JSON format (``json.ignore-parse-errors``). The
      Table API JSON format cannot route them anywhere, so they are NOT counted by this job
      (known gap; a ``raw``-format source parsing with JSON_VALUE could, at several JSON
      parses per record).
    * A field of the wrong type (``"ticket_count": "abc"``, a number that does not fit
      BIGINT) is read as NULL by the same option, so that booking goes to the DLQ below.
    * Parseable but invalid bookings (a required field missing, ``ticket_count`` < 1 or above
      ``--max-tickets``, a timestamp outside [2000-01-01, 2100-01-01)) are filtered out of the
      aggregation by the same predicate that routes them, with a ``reason``, to the dead-letter
      topic ``ticket-bookings-dlq`` -- so every invalid-but-parseable booking is counted there.
      The timestamp range check is applied *before* the watermark is computed (the event-time
      column of an out-of-range booking is pinned to the epoch), so one bogus far-future
      timestamp cannot push the watermark forward and turn all later bookings into late ones.

Delivery guarantee: EXACTLY-ONCE (see :func:`kafka_sink_options` for the why and the timeouts).
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("analytics_job")

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BROKERS = "127.0.0.1:19092"
DEFAULT_SOURCE_TOPIC = "ticket-bookings"
DEFAULT_CLOCK_TOPIC = "analytics-clock"  # event-time ticks from heartbeat.py, never bookings
DEFAULT_SINK_TOPIC = "analytics-results"
DEFAULT_DLQ_TOPIC = "ticket-bookings-dlq"
DEFAULT_GROUP_ID = "analytics-job"
DEFAULT_TRANSACTIONAL_ID_PREFIX = "analytics-job"

# Bookings claiming more tickets than this are treated as bad data (DLQ), not as sales.
DEFAULT_MAX_TICKETS = 1000
# Plausible event-time range; outside it a timestamp is bad data (see module docstring).
MIN_VALID_EPOCH_S = 946_684_800  # 2000-01-01T00:00:00Z
MAX_VALID_EPOCH_S = 4_102_444_800  # 2100-01-01T00:00:00Z

# A record {"type": "heartbeat", "timestamp": <now>} (heartbeat.py, on the clock topic) moves
# the watermark and is otherwise ignored (neither counted nor dead-lettered).
HEARTBEAT_TYPE = "heartbeat"

# ISO-8601 UTC with a literal trailing Z: the contract with the frontend.
ISO_UTC_PATTERN = "yyyy-MM-dd''T''HH:mm:ss''Z''"


@dataclass(frozen=True)
class JobSettings:
    """Everything that changes the job's semantics or its delivery; CLI/env feed it."""

    window_seconds: int = 60
    out_of_orderness_seconds: float = 2.0
    idle_timeout_seconds: float = 5.0
    max_tickets: int = DEFAULT_MAX_TICKETS
    checkpoint_interval_ms: int = 1000
    # Kafka transaction timeout. Must be < the broker's transaction.max.timeout.ms (15 min by
    # default) or the producer is rejected, and > checkpoint interval + the time to restart
    # the job after a failure, or the broker aborts a transaction Flink still wants to commit
    # (data loss). 10 min leaves room for both.
    transaction_timeout_ms: int = 600_000
    parallelism: int | None = None
    extra_config: Mapping[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- DDL (schemas)


def _with_clause(options: Mapping[str, str]) -> str:
    def q(s: str) -> str:
        return "'" + str(s).replace("'", "''") + "'"

    return ",\n  ".join(f"{q(k)} = {q(v)}" for k, v in options.items())


def _seconds_literal(seconds: float) -> str:
    """A SQL INTERVAL literal for a (possibly fractional) number of seconds."""
    millis = int(round(seconds * 1000))
    if millis % 1000 == 0:
        return f"INTERVAL '{millis // 1000}' SECOND"
    return f"INTERVAL '{millis / 1000:.3f}' SECOND(3)"


def bookings_source_ddl(
    name: str, connector_options: Mapping[str, str], settings: JobSettings = JobSettings()
) -> str:
    """CREATE TABLE for the bookings source with event time and watermark.

    ``connector_options`` supplies the connector and the format (``'format' = 'json'`` plus
    ``'json.ignore-parse-errors' = 'true'``); see :func:`json_format_options`.
    """
    ts_ok = (
        f"`timestamp` >= {MIN_VALID_EPOCH_S} AND `timestamp` < {MAX_VALID_EPOCH_S}"
    )
    return f"""
CREATE TABLE `{name}` (
  booking_id STRING,
  event_id BIGINT,
  user_id STRING,
  ticket_count BIGINT,
  `timestamp` DOUBLE,
  `type` STRING,  -- NULL for bookings; 'heartbeat' for clock ticks (heartbeat.py)
  -- event time; out-of-range or missing timestamps are pinned to the epoch so they can
  -- neither move the watermark nor fail the window assigner (they go to the DLQ anyway)
  ts AS TO_TIMESTAMP_LTZ(
         CASE WHEN {ts_ok} THEN CAST(`timestamp` * 1000 AS BIGINT) ELSE 0 END, 3),
  WATERMARK FOR ts AS ts - {_seconds_literal(settings.out_of_orderness_seconds)}
) WITH (
  {_with_clause(connector_options)}
)"""


def results_sink_ddl(name: str, connector_options: Mapping[str, str]) -> str:
    """CREATE TABLE for the per-event window results (append-only)."""
    return f"""
CREATE TABLE `{name}` (
  event_id BIGINT,
  window_start STRING,
  window_end STRING,
  total_tickets BIGINT,
  booking_count BIGINT
) WITH (
  {_with_clause(connector_options)}
)"""


def dead_letter_sink_ddl(name: str, connector_options: Mapping[str, str]) -> str:
    """CREATE TABLE for parseable-but-invalid bookings, with the reason they were rejected."""
    return f"""
CREATE TABLE `{name}` (
  reason STRING,
  booking_id STRING,
  event_id BIGINT,
  user_id STRING,
  ticket_count BIGINT,
  `timestamp` DOUBLE
) WITH (
  {_with_clause(connector_options)}
)"""


def json_format_options() -> dict[str, str]:
    """JSON format that never fails the job on bad input (bad rows are skipped)."""
    return {
        "format": "json",
        "json.ignore-parse-errors": "true",
        "json.fail-on-missing-field": "false",
    }


# --------------------------------------------------------------------------- transformation


def _invalid_reason_sql(settings: JobSettings) -> str:
    """SQL expression: NULL for a valid booking, else why it is invalid (first reason wins)."""
    max_tickets = int(settings.max_tickets)
    return f"""CASE
    WHEN booking_id IS NULL THEN 'missing or invalid booking_id'
    WHEN event_id IS NULL THEN 'missing or invalid event_id'
    WHEN ticket_count IS NULL THEN 'missing or invalid ticket_count'
    WHEN ticket_count < 1 THEN 'ticket_count < 1'
    WHEN ticket_count > {max_tickets} THEN 'ticket_count > {max_tickets}'
    WHEN `timestamp` IS NULL THEN 'missing or invalid timestamp'
    WHEN NOT (`timestamp` >= {MIN_VALID_EPOCH_S} AND `timestamp` < {MAX_VALID_EPOCH_S})
      THEN 'timestamp out of range'
    ELSE CAST(NULL AS STRING)
  END"""


def configure_table_env(t_env, settings: JobSettings) -> None:
    """Session settings the transformation depends on (time zone, idleness)."""
    cfg = t_env.get_config()
    # Window bounds of a TIMESTAMP_LTZ time attribute are rendered in the session time zone:
    # pin it to UTC so "...Z" is true.
    cfg.set("table.local-time-zone", "UTC")
    cfg.set(
        "table.exec.source.idle-timeout", f"{int(settings.idle_timeout_seconds * 1000)} ms"
    )


def build_pipeline(
    t_env,
    source_table: str,
    results_table: str,
    dead_letter_table: str | None = None,
    settings: JobSettings = JobSettings(),
):
    """The pure transformation: returns a StatementSet (not executed).

    ``source_table`` must have been created from :func:`bookings_source_ddl`, the sinks from
    :func:`results_sink_ddl` / :func:`dead_letter_sink_ddl`. With a dead-letter table both
    INSERTs share one source scan (one job).
    """
    configure_table_env(t_env, settings)
    reason = _invalid_reason_sql(settings)
    t_env.create_temporary_view(
        "bookings_checked",
        t_env.sql_query(
            f"SELECT booking_id, event_id, user_id, ticket_count, `timestamp`, ts, "
            f"{reason} AS reason FROM `{source_table}` "
            f"WHERE `type` IS NULL OR `type` <> '{HEARTBEAT_TYPE}'"
        ),
    )
    t_env.create_temporary_view(
        "bookings_valid", t_env.sql_query("SELECT * FROM bookings_checked WHERE reason IS NULL")
    )
    window = f"INTERVAL '{int(settings.window_seconds)}' SECOND"
    stmt = t_env.create_statement_set()
    stmt.add_insert_sql(
        f"""
INSERT INTO `{results_table}`
SELECT
  event_id,
  DATE_FORMAT(window_start, '{ISO_UTC_PATTERN}') AS window_start,
  DATE_FORMAT(window_end, '{ISO_UTC_PATTERN}') AS window_end,
  SUM(ticket_count) AS total_tickets,
  COUNT(*) AS booking_count
FROM TABLE(
  TUMBLE(
    TABLE bookings_valid,
    DESCRIPTOR(ts), {window}))
GROUP BY event_id, window_start, window_end
"""
    )
    if dead_letter_table:
        stmt.add_insert_sql(
            f"""
INSERT INTO `{dead_letter_table}`
SELECT reason, booking_id, event_id, user_id, ticket_count, `timestamp`
FROM bookings_checked WHERE reason IS NOT NULL
"""
        )
    return stmt


# --------------------------------------------------------------------------- Kafka wiring


def kafka_source_options(
    brokers: str, topic: str, group_id: str, clock_topic: str | None = None
) -> dict[str, str]:
    """One source over the bookings topic and, if given, the clock topic (a topic list: one
    source operator, per-partition watermarks, minimum over the non-idle partitions)."""
    return {
        "connector": "kafka",
        "topic": ";".join(t for t in (topic, clock_topic) if t),
        "properties.bootstrap.servers": brokers,
        "properties.group.id": group_id,
        # First start reads the topic from the beginning; a restart from a checkpoint or
        # savepoint uses the offsets in Flink state (not the committed group offsets).
        "scan.startup.mode": "group-offsets",
        "properties.auto.offset.reset": "earliest",
        # Only read committed bookings if producers are transactional.
        "properties.isolation.level": "read_committed",
        "scan.topic-partition-discovery.interval": "60 s",
        # Fewer, fuller fetches: the broker answers once 64 KiB or 100 ms are there instead of
        # once per booking (broker CPU under booking load; +<=100 ms on a window result).
        "properties.fetch.min.bytes": "65536",
        "properties.fetch.max.wait.ms": "100",
        **json_format_options(),
    }


def kafka_sink_options(
    brokers: str, topic: str, transactional_id_prefix: str, settings: JobSettings
) -> dict[str, str]:
    """Kafka sink options: EXACTLY-ONCE.

    Why exactly-once rather than at-least-once + consumer dedup:
    * the results topic is small (one record per event per window), so the cost of
      transactions (one commit per checkpoint) is negligible;
    * a restart (savepoint, TaskManager killed mid-window) replays bookings from the last
      checkpoint and re-emits windows fired after it; with transactions those re-emitted
      records replace an *aborted* transaction instead of duplicating committed ones, so
      every consumer reading with ``isolation.level=read_committed`` sees each window once
      -- the frontend, but also any future consumer that sums or counts records;
    * it stays safe for consumers that forget read_committed: windows are deterministic in
      event time, so a duplicate carries the same totals, and dedup on
      (event_id, window_end) keeping the latest value still shows exact totals.
    Price: a result becomes visible when the checkpoint after its window fires completes,
    i.e. up to one checkpoint interval later (1 s by default).

    Timeouts: ``transaction.timeout.ms`` must stay below the broker's
    ``transaction.max.timeout.ms`` (15 min default; the connector's own default of 1 h is
    rejected by a default broker) and above checkpoint interval + restart time, else the
    broker aborts transactions Flink will try to commit after recovery. The transactional-id
    prefix must be unique per job on the cluster (two jobs sharing it fence each other).
    """
    return {
        "connector": "kafka",
        "topic": topic,
        "properties.bootstrap.servers": brokers,
        "sink.delivery-guarantee": "exactly-once",
        "sink.transactional-id-prefix": transactional_id_prefix,
        "properties.transaction.timeout.ms": str(settings.transaction_timeout_ms),
        "format": "json",
    }


def connector_jars(env: Mapping[str, str] = os.environ) -> list[str]:
    """URLs of the connector jars to put into ``pipeline.jars``.

    * ``FLINK_CONNECTOR_JARS`` set: its ';'-separated paths or URLs (empty: none);
    * else, under ``flink run`` / Dataproc (the Python process is driven by Flink's
      PythonDriver, which sets PYFLINK_GATEWAY_PORT): none -- pass the jar with
      ``flink run --jarfile`` (Dataproc: ``jar_file_uris``). Setting ``pipeline.jars`` from
      such a client makes PyFlink open ``URLClassLoader.addURL`` reflectively, which fails
      unless the client JVM has ``--add-opens=java.base/java.net=ALL-UNNAMED`` (part of
      Flink's default ``env.java.opts.all``);
    * else (local mode): every jar in ``<repo>/.cache/jars/flink/``.
    """
    raw = env.get("FLINK_CONNECTOR_JARS")
    if raw is not None:
        items = [p.strip() for p in raw.split(";") if p.strip()]
    elif "PYFLINK_GATEWAY_PORT" in env:
        items = []
    else:
        items = sorted(glob.glob(str(REPO_ROOT / ".cache" / "jars" / "flink" / "*.jar")))
    urls = []
    for item in items:
        if "://" in item:
            urls.append(item)
        else:
            urls.append(Path(item).resolve().as_uri())
    return urls


def configure_execution(t_env, settings: JobSettings, jars: Sequence[str] = ()) -> None:
    """Checkpointing (needed for exactly-once commits and for restart without loss)."""
    cfg = t_env.get_config()
    cfg.set("execution.checkpointing.interval", f"{settings.checkpoint_interval_ms} ms")
    cfg.set("execution.checkpointing.mode", "EXACTLY_ONCE")
    cfg.set("execution.checkpointing.min-pause", f"{settings.checkpoint_interval_ms // 2} ms")
    # keep the last checkpoint when the job is cancelled, so it can be resumed with -s
    cfg.set("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION")
    cfg.set("pipeline.name", "booking-analytics")
    if settings.parallelism:
        cfg.set("parallelism.default", str(settings.parallelism))
    if jars:
        cfg.set("pipeline.jars", ";".join(jars))
    for k, v in settings.extra_config.items():
        cfg.set(k, v)


def create_kafka_tables(
    t_env,
    brokers: str,
    source_topic: str,
    sink_topic: str,
    dlq_topic: str | None,
    group_id: str,
    transactional_id_prefix: str,
    settings: JobSettings,
    clock_topic: str | None = DEFAULT_CLOCK_TOPIC,
) -> tuple[str, str, str | None]:
    t_env.execute_sql(
        bookings_source_ddl(
            "bookings",
            kafka_source_options(brokers, source_topic, group_id, clock_topic),
            settings,
        )
    )
    t_env.execute_sql(
        results_sink_ddl(
            "analytics_results",
            kafka_sink_options(brokers, sink_topic, transactional_id_prefix, settings),
        )
    )
    dlq = None
    if dlq_topic:
        t_env.execute_sql(
            dead_letter_sink_ddl(
                "bookings_dlq",
                kafka_sink_options(
                    brokers, dlq_topic, transactional_id_prefix + "-dlq", settings
                ),
            )
        )
        dlq = "bookings_dlq"
    return "bookings", "analytics_results", dlq


def _env_float(name: str, default: float) -> float:
    v = os.environ.get(name)
    return float(v) if v not in (None, "") else default


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    e = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--brokers", default=e("KAFKA_BROKERS") or DEFAULT_BROKERS)
    p.add_argument("--source-topic", default=e("ANALYTICS_SOURCE_TOPIC") or DEFAULT_SOURCE_TOPIC)
    p.add_argument(
        "--clock-topic",
        default=e("ANALYTICS_CLOCK_TOPIC", DEFAULT_CLOCK_TOPIC),
        help="topic of heartbeat.py's event-time ticks, read with the bookings so that windows "
        "close when bookings stop; empty string: bookings only",
    )
    p.add_argument("--sink-topic", default=e("ANALYTICS_SINK_TOPIC") or DEFAULT_SINK_TOPIC)
    p.add_argument(
        "--dlq-topic",
        default=e("ANALYTICS_DLQ_TOPIC", DEFAULT_DLQ_TOPIC),
        help="dead-letter topic for invalid bookings; empty string disables it",
    )
    p.add_argument("--group-id", default=e("ANALYTICS_GROUP_ID") or DEFAULT_GROUP_ID)
    p.add_argument(
        "--transactional-id-prefix",
        default=e("ANALYTICS_TRANSACTIONAL_ID_PREFIX") or DEFAULT_TRANSACTIONAL_ID_PREFIX,
    )
    p.add_argument(
        "--window-seconds", type=int, default=int(_env_float("ANALYTICS_WINDOW_SECONDS", 60))
    )
    p.add_argument(
        "--out-of-orderness-seconds",
        type=float,
        default=_env_float("ANALYTICS_OUT_OF_ORDERNESS_SECONDS", 2.0),
    )
    p.add_argument(
        "--idle-timeout-seconds",
        type=float,
        default=_env_float("ANALYTICS_IDLE_TIMEOUT_SECONDS", 5.0),
    )
    p.add_argument(
        "--checkpoint-interval-ms",
        type=int,
        default=int(_env_float("ANALYTICS_CHECKPOINT_INTERVAL_MS", 1000)),
    )
    p.add_argument(
        "--transaction-timeout-ms",
        type=int,
        default=int(_env_float("ANALYTICS_TRANSACTION_TIMEOUT_MS", 600_000)),
    )
    p.add_argument(
        "--max-tickets",
        type=int,
        default=int(_env_float("ANALYTICS_MAX_TICKETS", DEFAULT_MAX_TICKETS)),
    )
    p.add_argument("--parallelism", type=int, default=None)
    p.add_argument(
        "--no-wait",
        action="store_true",
        help="return after submission instead of blocking until the job ends "
        "(use with `flink run -d`)",
    )
    args = p.parse_args(argv)
    if args.clock_topic and args.clock_topic == args.source_topic:
        p.error("--clock-topic must not be the bookings topic")
    if args.window_seconds < 1:
        p.error("--window-seconds must be >= 1")
    if args.checkpoint_interval_ms < 10:
        p.error("--checkpoint-interval-ms must be >= 10")
    if not args.checkpoint_interval_ms < args.transaction_timeout_ms <= 900_000:
        p.error("--transaction-timeout-ms must be > checkpoint interval and <= 900000")
    return args


def settings_from_args(args: argparse.Namespace) -> JobSettings:
    return JobSettings(
        window_seconds=args.window_seconds,
        out_of_orderness_seconds=args.out_of_orderness_seconds,
        idle_timeout_seconds=args.idle_timeout_seconds,
        max_tickets=args.max_tickets,
        checkpoint_interval_ms=args.checkpoint_interval_ms,
        transaction_timeout_ms=args.transaction_timeout_ms,
        parallelism=args.parallelism,
    )


def build_kafka_job(args: argparse.Namespace, t_env=None):
    """Create the table env (if not given), the Kafka tables and the StatementSet."""
    from pyflink.table import EnvironmentSettings, TableEnvironment

    settings = settings_from_args(args)
    if t_env is None:
        t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    configure_execution(t_env, settings, connector_jars())
    source, sink, dlq = create_kafka_tables(
        t_env,
        args.brokers,
        args.source_topic,
        args.sink_topic,
        args.dlq_topic or None,
        args.group_id,
        args.transactional_id_prefix,
        settings,
        args.clock_topic or None,
    )
    return t_env, build_pipeline(t_env, source, sink, dlq, settings)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    _, stmt = build_kafka_job(args)
    result = stmt.execute()
    job_client = result.get_job_client()
    job_id = job_client.get_job_id() if job_client is not None else None
    log.info("submitted booking-analytics job %s", job_id)
    print(f"JOB_ID {job_id}", flush=True)
    if not args.no_wait:
        result.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
