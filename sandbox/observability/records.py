"""What the systems themselves recorded about one booking or upload, for `sandbox trace`.

Some hops are not worth a log line on the booking path (its CPU per booking is budgeted), and the
systems keep them anyway: the idempotency record and the decision in Postgres (`booking_requests`,
`bookings`), the status outbox row (`booking_status_outbox.sent_at`: sent to `booking-status`), the
message itself on `ticket-bookings`, the window the analytics job wrote to `analytics-results`,
and the S3 objects (the upload with its metadata, the ticket). Each lookup answers a dict or None
(not there); a system that cannot be asked raises, and the trace says so for that hop only.
All addresses come from `sandbox env` (DATABASE_URL, KAFKA_BROKERS, AWS_*, RAW_DATA_BUCKET).
Times are epoch seconds.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import unquote


class Records:
    def __init__(self, env: dict[str, str], timeout_s: float = 5.0):
        self.env = env
        self.timeout_s = timeout_s

    # ------------------------------------------------------------ Postgres
    def _rows(self, sql: str, params: tuple) -> list[dict]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True, connect_timeout=3,
                             row_factory=dict_row) as conn:
            return conn.execute(sql, params).fetchall()

    def booking_request(self, booking_id: str) -> dict | None:
        """booking-service's idempotency record: when it was requested and whether Kafka acknowledged it."""
        rows = self._rows(
            "SELECT event_id, user_id, ticket_count, requested_at, request_id,"
            " extract(epoch FROM created_at)::float8 AS created_at,"
            " extract(epoch FROM published_at)::float8 AS published_at"
            " FROM booking_requests WHERE booking_id = %s::uuid", (booking_id,))
        return rows[0] if rows else None

    def booking(self, booking_id: str) -> dict | None:
        """The consumer's decision (``decided_at`` is its transaction's start: Postgres' now())."""
        rows = self._rows(
            "SELECT event_id, user_id, ticket_count, status, reason, requested_at, request_id,"
            " extract(epoch FROM decided_at)::float8 AS decided_at"
            " FROM bookings WHERE booking_id = %s::uuid", (booking_id,))
        return rows[0] if rows else None

    def outbox(self, booking_id: str) -> list[dict]:
        """The status events written with the decision; ``sent_at`` once the relay published them."""
        return self._rows(
            "SELECT id, topic, payload->>'status' AS status,"
            " extract(epoch FROM created_at)::float8 AS created_at,"
            " extract(epoch FROM sent_at)::float8 AS sent_at"
            " FROM booking_status_outbox WHERE booking_id = %s::uuid ORDER BY id", (booking_id,))

    # ------------------------------------------------------------ Kafka
    def _consumer(self, **extra):
        from confluent_kafka import Consumer

        return Consumer({"bootstrap.servers": self.env["KAFKA_BROKERS"], "group.id": f"sandbox-trace-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", "log_level": 0,
                         # the end of a partition as read_committed sees it (a high watermark counts
                         # transaction markers no consumer ever receives)
                         "enable.partition.eof": True,
                         "socket.timeout.ms": int(self.timeout_s * 1000), **extra})

    def message(self, topic: str, partition: int, offset: int) -> dict | None:
        """The message at (topic, partition, offset): its timestamp, JSON value and headers."""
        from confluent_kafka import KafkaError, TopicPartition

        consumer = self._consumer()
        try:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=self.timeout_s)
            if not low <= offset < high:
                return None
            consumer.assign([TopicPartition(topic, partition, offset)])
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                msg = consumer.poll(0.5)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        return None
                    continue
                if msg.offset() == offset:
                    return _message_dict(msg)
                if msg.offset() > offset:  # compacted or aborted: not there
                    return None
            raise TimeoutError(f"{topic} partition {partition} offset {offset} not read in {self.timeout_s:.0f} s")
        finally:
            consumer.close()

    def analytics_window(self, event_id: int, at: float, window_s: int, topic: str = "analytics-results") -> dict | None:
        """The (latest) result of the tumbling window of ``event_id`` holding event time ``at``, as
        read_committed consumers see it. Read from the first record written after the window began,
        on every partition, up to the end: a few records per window in the sandbox."""
        from confluent_kafka import KafkaError, TopicPartition

        start = int(at // window_s * window_s)
        window_start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))
        consumer = self._consumer(**{"isolation.level": "read_committed"})
        found = None
        try:
            partitions = consumer.list_topics(topic, timeout=self.timeout_s).topics[topic].partitions
            wanted = consumer.offsets_for_times([TopicPartition(topic, p, start * 1000) for p in partitions],
                                                timeout=self.timeout_s)
            todo = [tp for tp in wanted if tp.offset >= 0]  # -1: nothing written since the window began
            if not todo:
                return None
            consumer.assign(todo)
            done: set[int] = set()
            deadline = time.monotonic() + self.timeout_s
            while len(done) < len(todo) and time.monotonic() < deadline:
                msg = consumer.poll(0.3)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        done.add(msg.partition())
                    continue
                record = _message_dict(msg)
                value = record["value"]
                if isinstance(value, dict) and value.get("event_id") == event_id and value.get("window_start") == window_start:
                    found = record  # a later copy (a restarted job) carries the same totals
            # read_committed stops short of an open transaction's records: what was read is all there is
            return found
        finally:
            consumer.close()

    # ------------------------------------------------------------ S3
    def s3_object(self, key: str) -> dict | None:
        """HeadObject of ``key`` in the raw-data bucket: size, type, LastModified, metadata (decoded)."""
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError

        s3 = boto3.client("s3", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name=self.env.get("AWS_DEFAULT_REGION"),
                          aws_access_key_id=self.env.get("AWS_ACCESS_KEY_ID"),
                          aws_secret_access_key=self.env.get("AWS_SECRET_ACCESS_KEY"),
                          config=Config(connect_timeout=2, read_timeout=self.timeout_s, retries={"max_attempts": 1}))
        try:
            head = s3.head_object(Bucket=self.env["RAW_DATA_BUCKET"], Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return {"key": key, "bytes": head.get("ContentLength"), "content_type": head.get("ContentType"),
                "last_modified": head["LastModified"].timestamp() if head.get("LastModified") else None,
                "metadata": {k.lower(): unquote(v) for k, v in (head.get("Metadata") or {}).items()}}


def _message_dict(msg) -> dict:
    try:
        value = json.loads(msg.value()) if msg.value() is not None else None
    except (TypeError, ValueError):
        value = None
    kind, stamp = msg.timestamp()
    return {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
            "timestamp": stamp / 1000 if kind and stamp > 0 else None, "value": value,
            "headers": {k: (v.decode(errors="replace") if v else "") for k, v in (msg.headers() or [])}}
