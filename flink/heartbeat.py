"""Event-time clock for the analytics job: keeps windows closing when bookings stop.

The job closes a window when the watermark (highest timestamp - out-of-orderness) passes its
end. With no new bookings the watermark stands still and the last window is never emitted.
This process writes ``{"type": "heartbeat", "timestamp": <now>}`` to *every* partition of the
clock topic ``analytics-clock`` every ``--interval-seconds`` (0.5 s). The job reads that topic
with ``ticket-bookings`` in one source; once the booking partitions are idle, these ticks move
its watermark (they are not counted, not dead-lettered). Nothing here is written to the
bookings topic: its consumers see bookings only (see analytics_job.py, "Event time when
bookings stop").

Run it next to the job (the sandbox supervises it; on GCP/AWS any small always-on process or
a scheduled function does). Two copies running at once are harmless.

    python flink/heartbeat.py --brokers 127.0.0.1:19092 --topic analytics-clock
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Sequence

HEARTBEAT_TYPE = "heartbeat"  # analytics_job.HEARTBEAT_TYPE
CLOCK_TOPIC = "analytics-clock"  # analytics_job.DEFAULT_CLOCK_TOPIC
BUSINESS_TOPICS = ("ticket-bookings",)  # never written to: their consumers expect bookings only


def heartbeat_payload(now: float | None = None) -> bytes:
    return json.dumps(
        {"type": HEARTBEAT_TYPE, "timestamp": time.time() if now is None else now}
    ).encode()


def send_heartbeats(producer, topic: str, partitions: Sequence[int], now: float | None = None):
    payload = heartbeat_payload(now)
    for p in partitions:
        producer.produce(topic, value=payload, partition=p)
    producer.poll(0)


def partitions_of(producer, topic: str) -> list[int]:
    md = producer.list_topics(topic, timeout=10)
    t = md.topics.get(topic)
    if t is None or t.error is not None:
        raise RuntimeError(f"topic {topic!r} not available: {t.error if t else 'missing'}")
    return sorted(t.partitions)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--brokers", default=os.environ.get("KAFKA_BROKERS") or "127.0.0.1:19092")
    p.add_argument("--topic", default=os.environ.get("ANALYTICS_CLOCK_TOPIC") or CLOCK_TOPIC)
    p.add_argument("--interval-seconds", type=float, default=0.5)
    p.add_argument("--once", action="store_true", help="send one round and exit")
    args = p.parse_args(argv)
    if args.topic in BUSINESS_TOPICS:
        p.error(f"--topic {args.topic}: heartbeats go to the clock topic ({CLOCK_TOPIC}), "
                "never to a business topic")

    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 0})
    stop = False

    def _stop(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    partitions: list[int] = []
    refreshed = 0.0
    while not stop:
        try:
            if time.monotonic() - refreshed > 60 or not partitions:  # pick up new partitions
                partitions = partitions_of(producer, args.topic)
                refreshed = time.monotonic()
            send_heartbeats(producer, args.topic, partitions)
        except Exception as exc:  # broker down: keep trying, never crash the supervisor loop
            print(f"heartbeat: {exc}", file=sys.stderr, flush=True)
            partitions = []
        if args.once:
            break
        time.sleep(args.interval_seconds)
    producer.flush(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
