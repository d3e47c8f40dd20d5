"""A tiny HTTP server for /health (liveness), /ready (Postgres + Kafka reachable), /metrics."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka.admin import AdminClient
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from svc_common.metrics import metrics_payload


class HealthServer:
    def __init__(self, host: str, port: int, app):
        self.app = app
        handler = self._handler()
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="health-http", daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self):
        app = self.app

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args):  # no access log noise
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):  # noqa: N802
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    return self._send(200, metrics_payload(), CONTENT_TYPE_LATEST)
                if path == "/health":
                    ok, detail = app.liveness()
                elif path == "/ready":
                    ok, detail = app.readiness()
                else:
                    return self._send(404, json.dumps({"error": "not found", "field": None}).encode())
                return self._send(200 if ok else 503, json.dumps(detail).encode())

        return Handler


def check_database(engine) -> str:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM bookings LIMIT 1"))
            conn.execute(text("SELECT 1 FROM events LIMIT 1"))
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


def check_kafka(brokers: str, topic: str) -> str:
    try:
        md = AdminClient({"bootstrap.servers": brokers}).list_topics(topic=topic, timeout=3)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return f"topic {topic} missing"
        return "ok"
    except Exception as exc:  # noqa: BLE001
        return str(exc)


def liveness_of(consumer, relay, stale_after_s: float = 60.0):
    age = time.monotonic() - consumer.last_loop
    alive = (not relay or relay.is_alive()) and age < stale_after_s
    return alive, {"status": "ok" if alive else "stalled", "last_poll_age_s": round(age, 3)}
