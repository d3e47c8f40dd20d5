"""`sandbox reset` in place: the first-up state put back into the running stores, without the stop,
copy and start of a snapshot load (~25 s, most of it Kafka's and the emulator's start).

It works because first-up is taken on a fresh sandbox, whose stores hold little. While the save has
stopped every writer and the stores still run, `capture` keeps that state in the shape each store
takes back while running (`live/` beside the snapshot's files):
- Postgres: every table of the application database as binary COPY, and each sequence's value;
  the reset truncates every table and copies them back in one transaction.
- Kafka: the topics and consumer groups there were, and that no topic held records other than the
  ticks of the analytics clock and the health probe. A running broker cannot drop a log's tail, so
  the reset deletes every record up to each partition's end (Kafka's DeleteRecords, what retention
  does): offsets do not go back, the logs are empty from there on. Topics and empty consumer groups
  made since are deleted.
- the AWS emulator: the snapshot's state file, loaded by the running emulator
  (`POST /_sandbox/state/load`, sandbox/aws_server.py).
- GCS, Terraform's state and the analytics job's savepoints are files, copied back as a load does;
  GCS's emulator reads its files only when it starts, so it stops and starts with the services.
The services and the analytics job are stopped around it (their connections, caches and in-memory
batches belong to the old state) and started again; the job resumes from first-up's savepoint.

Anything that does not fit (no `live/`, a table or topic added or gone) raises `NotInPlace` before
the data is touched; the emulator, asked first, refuses a state it cannot load before it clears
anything; on either, or any later failure, `Snapshots.reset` does the full load instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from sandbox.errors import SandboxError

LIVE = "live"
FORMAT = 1
IN_PLACE = ("kafka", "postgres", "aws")  # reset while they run; the other stateful parts restart


class NotInPlace(Exception):
    """The reset cannot be done in place; the full snapshot load does it."""


# ------------------------------------------------------------------------- capture (at save)
def capture(sandbox, target: Path) -> None:
    """Keep Postgres's tables, Kafka's topics and groups as `target` (the snapshot's `live/`).
    Called while the stores run and nothing writes to them."""
    target.mkdir(parents=True)
    try:
        tables, sequences = _pg_capture(sandbox.component("postgres"), target / "postgres")
        topics, groups, records = _kafka_capture(sandbox.component("kafka"))
    except Exception as exc:  # noqa: BLE001 - the snapshot stands without it; `reset` says why and loads it
        (target / "refused.txt").write_text(f"{type(exc).__name__}: {exc}\n")
        return
    (target / "live.json").write_text(json.dumps({
        "format": FORMAT, "tables": tables, "sequences": sequences, "topics": topics, "groups": groups,
        "records": records}, indent=2))


def _pg_tables(conn) -> list[str]:
    rows = conn.execute("""
        SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%' AND NOT c.relispartition ORDER BY 1""").fetchall()
    return [r[0] for r in rows]


def _pg_sequences(conn) -> list[str]:
    rows = conn.execute("""
        SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1""").fetchall()
    return [r[0] for r in rows]


def _pg_capture(postgres, folder: Path) -> tuple[list[str], dict[str, list]]:
    folder.mkdir()
    with postgres.connect(timeout=5) as conn:
        tables = _pg_tables(conn)
        for index, table in enumerate(tables):
            with open(folder / f"{index}.copy", "wb") as out, \
                    conn.cursor().copy(f"COPY {table} TO STDOUT (FORMAT binary)") as copy:
                for chunk in copy:
                    out.write(chunk)
        sequences = {}
        for sequence in _pg_sequences(conn):
            last_value, is_called = conn.execute(f"SELECT last_value, is_called FROM {sequence}").fetchone()
            sequences[sequence] = [last_value, is_called]
    return tables, sequences


def _kafka_admin(kafka):
    from confluent_kafka.admin import AdminClient

    from sandbox.components.kafka import _client_config

    return AdminClient(_client_config(kafka.bootstrap))


def _kafka_capture(kafka) -> tuple[dict[str, int], list[str], dict[str, int]]:
    from confluent_kafka import Consumer, TopicPartition

    admin = _kafka_admin(kafka)
    found = admin.list_topics(timeout=10).topics
    topics = {name: len(meta.partitions) for name, meta in found.items() if not name.startswith("__")}
    groups = sorted(g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid)
    from sandbox.components.kafka import _client_config

    consumer = Consumer({**_client_config(kafka.bootstrap), "group.id": "sandbox-reset"})
    try:
        records = {}
        for name, partitions in topics.items():
            marks = [consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10) for p in range(partitions)]
            records[name] = sum(high - low for low, high in marks)
    finally:
        consumer.close()
    return topics, groups, records


def _ticks() -> set[str]:
    """Topics whose records are ticks, never data: deleting them loses nothing."""
    from sandbox.components.analytics import CLOCK_TOPIC
    from sandbox.components.kafka import HEALTH_TOPIC

    return {CLOCK_TOPIC, HEALTH_TOPIC}


# ------------------------------------------------------------------------- reset
class InPlace:
    def __init__(self, snapshots, name: str):
        self.snapshots = snapshots
        self.sandbox = snapshots.sandbox
        self.folder = snapshots.path(name)
        self.live = self.folder / LIVE
        self.timings: dict[str, float] = {}

    def baseline(self) -> dict:
        """What `capture` kept, or NotInPlace with the reason."""
        if self.sandbox.settings.runtime != "native":
            raise NotInPlace("the in-place reset is the native runtime's")
        try:
            baseline = json.loads((self.live / "live.json").read_text())
        except (OSError, ValueError):
            refused = self.live / "refused.txt"
            why = f"keeping it failed ({refused.read_text().strip()})" if refused.exists() else \
                "it was not taken by a running native sandbox"
            raise NotInPlace(f"the snapshot kept no live state: {why}") from None
        if baseline.get("format") != FORMAT:
            raise NotInPlace(f"its live state has format {baseline.get('format')}")
        data = {t: n for t, n in baseline["records"].items() if n and t not in _ticks()}
        if data:
            raise NotInPlace(f"its topics held records ({', '.join(sorted(data))}), which deleting cannot bring back")
        names = set(self.sandbox.names())
        if not set(IN_PLACE) <= names:
            raise NotInPlace("not every store runs in this sandbox")
        return baseline

    def run(self) -> dict:
        """Stop the writers, reset the stores in place, copy the files, start the writers again.
        NotInPlace (raised before any data changed) leaves the writers stopped for the full load."""
        baseline = self.baseline()
        sandbox = self.sandbox
        started = time.monotonic()
        stopped = [n for n in self.snapshots.restarted() or [] if n not in IN_PLACE]
        if "analytics" in sandbox.names():
            analytics = sandbox.component("analytics")
            analytics.stop_job(savepoint=False)
            deadline = time.monotonic() + 15
            while analytics.running_job() and time.monotonic() < deadline:  # its last checkpoint written
                time.sleep(0.2)
        if stopped:  # (an empty selection would be every component)
            sandbox.down(",".join(stopped))
        self.timings["stop_s"] = time.monotonic() - started
        self._check(baseline)
        data_started = time.monotonic()
        # the emulator first: it checks its file before it clears anything, so a refusal leaves
        # all three as they were (any later failure is repaired by the full load, which copies all)
        for name, step in (("aws", self._aws), ("kafka", self._kafka), ("postgres", self._postgres)):
            began = time.monotonic()
            step(baseline)
            self.timings[f"{name}_s"] = time.monotonic() - began
        began = time.monotonic()
        self._files([n for n in self.snapshots.kept if n not in IN_PLACE])
        self.timings["files_s"] = time.monotonic() - began
        self.timings["data_s"] = time.monotonic() - data_started
        began = time.monotonic()
        report = sandbox.up()
        self.timings["start_s"] = time.monotonic() - began
        self.timings["total_s"] = time.monotonic() - started
        timings: dict = {k: round(v, 3) for k, v in self.timings.items()}
        timings["started_s"] = {r.name: round(r.seconds, 3) for r in report if r.name in stopped}
        return timings

    def _check(self, baseline: dict) -> None:
        """Everything that could refuse, before anything changes."""
        with self.sandbox.component("postgres").connect(timeout=5) as conn:
            tables = _pg_tables(conn)
        if tables != baseline["tables"]:
            raise NotInPlace(f"the database's tables changed since (now {len(tables)}, then {len(baseline['tables'])})")
        topics = _kafka_admin(self.sandbox.component("kafka")).list_topics(timeout=10).topics
        gone = [t for t in baseline["topics"] if t not in topics]
        if gone:
            raise NotInPlace(f"topic(s) {', '.join(gone)} were deleted since")

    def _aws_state_file(self) -> Path:
        aws = self.sandbox.component("aws")
        return aws.state_file.relative_to(self.snapshots.root)

    def _kafka(self, baseline: dict) -> None:
        from confluent_kafka import OFFSET_END, TopicPartition

        admin = _kafka_admin(self.sandbox.component("kafka"))
        topics = admin.list_topics(timeout=10).topics
        made = [t for t in topics if not t.startswith("__") and t not in baseline["topics"]]
        if made:
            for future in admin.delete_topics(made, operation_timeout=10).values():
                future.result(15)
        partitions = [TopicPartition(t, p, OFFSET_END) for t in baseline["topics"] for p in topics[t].partitions]
        for future in admin.delete_records(partitions, request_timeout=15).values():
            future.result(20)
        groups = [g.group_id for g in admin.list_consumer_groups().result(timeout=10).valid
                  if g.group_id not in baseline["groups"]]
        if groups:
            for future in admin.delete_consumer_groups(groups, request_timeout=10).values():
                try:
                    future.result(15)
                except Exception:  # noqa: BLE001 - a group still in use keeps its (empty-log) offsets
                    pass

    def _postgres(self, baseline: dict) -> None:
        folder = self.live / "postgres"
        with self.sandbox.component("postgres").connect(superuser=True, timeout=5) as conn:
            conn.execute("SET lock_timeout = '5s'")
            conn.execute("SET session_replication_role = replica")  # no foreign-key checks while copying
            conn.execute(f"TRUNCATE {', '.join(baseline['tables'])}")
            for index, table in enumerate(baseline["tables"]):
                with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT binary)") as copy:
                    copy.write((folder / f"{index}.copy").read_bytes())
            for sequence, (last_value, is_called) in baseline["sequences"].items():
                conn.execute("SELECT setval(%s::regclass, %s, %s)", (sequence, last_value, is_called))
            # one transaction: the with-block commits it

    def _aws(self, baseline: dict) -> None:
        import urllib.error
        import urllib.request

        aws = self.sandbox.component("aws")
        body = json.dumps({"path": str(self.folder / "files" / self._aws_state_file())}).encode()
        request = urllib.request.Request(f"{aws.endpoint}/_sandbox/state/load", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            raise SandboxError(f"the AWS emulator refused the first-up state: {exc.read().decode(errors='replace')}",
                               "sandbox snapshot load first-up does the full load") from None

    def _files(self, components: list[str]) -> None:
        self.snapshots.copy_back(self.snapshots.manifest(self.folder.name), components)
