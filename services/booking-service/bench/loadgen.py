"""Tiny dependency-free load generator for POST /book (asyncio, HTTP/1.1 keep-alive).

    python bench/loadgen.py --url http://127.0.0.1:8001 --event-id 1 --seconds 20 --connections 64

Prints one JSON object: accepted/s, status counts, latency percentiles (ms). With
DATABASE_URL set it also reports accepted -> decided latency from the ``bookings`` table
(``decided_at - requested_at``) for the bookings it made.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from urllib.parse import urlparse


async def worker(host, port, path, event_id, deadline, lat, statuses, ids, ticket_count):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            body = json.dumps({"event_id": event_id, "user_id": f"load-{uuid.uuid4().hex[:8]}",
                               "ticket_count": ticket_count}).encode()
            req = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                   f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
            t0 = time.perf_counter()
            writer.write(req)
            await writer.drain()
            status_line = await reader.readline()
            if not status_line:
                raise ConnectionError("closed")
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                k, _, v = line.decode().partition(":")
                if k.lower() == "content-length":
                    length = int(v)
            payload = await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
            if status == 202:
                ids.append(json.loads(payload)["booking_id"])
    finally:
        writer.close()


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))] * 1000, 2)


async def main_async(args):
    u = urlparse(args.url)
    lat, statuses, ids = [], {}, []
    start = time.perf_counter()
    deadline = start + args.seconds
    await asyncio.gather(*[worker(u.hostname, u.port or 80, (u.path.rstrip("/") or "") + args.path, args.event_id,
                                  deadline, lat, statuses, ids, args.tickets) for _ in range(args.connections)])
    elapsed = time.perf_counter() - start
    return {"seconds": round(elapsed, 2), "requests": len(lat), "accepted": statuses.get(202, 0),
            "accepted_per_s": round(statuses.get(202, 0) / elapsed, 1), "statuses": statuses,
            "latency_ms": {"p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99), "max": pct(lat, 100)}}, ids


def decided_latency(ids, wait_s=30):
    from sqlalchemy import create_engine, text

    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    eng = create_engine(url)
    deadline = time.time() + wait_s
    rows = []
    while time.time() < deadline:
        with eng.connect() as c:
            rows = c.execute(text("SELECT extract(epoch from decided_at) - requested_at, status FROM bookings "
                                  "WHERE booking_id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}).all()
        if len(rows) == len(ids):
            break
        time.sleep(0.5)
    eng.dispose()
    lats = [float(r[0]) for r in rows]
    return {"decided": len(rows), "of": len(ids), "confirmed": sum(r[1] == "confirmed" for r in rows),
            "accepted_to_decided_ms": {"p50": pct(lats, 50), "p95": pct(lats, 95), "p99": pct(lats, 99),
                                       "max": pct(lats, 100)}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=os.environ.get("BOOKING_SERVICE_URL", "http://127.0.0.1:8001"))
    ap.add_argument("--path", default="/book")
    ap.add_argument("--event-id", type=int, required=True)
    ap.add_argument("--tickets", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    result, ids = asyncio.run(main_async(args))
    if os.environ.get("DATABASE_URL") and ids:
        result["confirmation"] = decided_latency(ids)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
