"""A tiny HTTP server for /health (liveness), /ready (readiness), /metrics.

Readiness, as for the HTTP services (``svc_common.readiness``), is the replica's own ability to
work: its consume loop polls (within ``stale_after_s``) and its outbox relay thread runs. Postgres
and Kafka are reported in the body, checked at most every 2 s in the background with short
timeouts, and not decisive, though the consumer does nothing useful without them. Why: readiness
gates traffic, and the consumer gets none (it is behind no Service, it pulls); while a dependency
is down it already waits the right way by itself (a failed batch is rewound and retried, librdkafka
reconnects), so an unready consumer would only stall a rollout or make ``sandbox status`` blame
the consumer for what the broker's or database's own row shows. Liveness is the same own check.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from confluent_kafka.admin import AdminClient
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from svc_common.errors import error_body
from svc_common.metrics import metrics_payload
from svc_common.readiness import OK, Dependency, readiness


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the client hung up mid-answer (a probe's timeout): nothing to report, no traceback
        super().handle_error(request, client_address)


class HealthServer:
    def __init__(self, host: str, port: int, app):
        self.app = app
        handler = self._handler()
        self.httpd = _Server((host, port), handler)
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
                    return self._send(404, json.dumps(error_body("not found")).encode())
                return self._send(200 if ok else 503, json.dumps(detail).encode())

        return Handler


def postgres_dependency(engine) -> Dependency:
    def check() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM bookings LIMIT 1"))
            conn.execute(text("SELECT 1 FROM events LIMIT 1"))
    return Dependency("postgres", check)


def kafka_dependency(brokers: str, topic: str) -> Dependency:
    admin: list[AdminClient] = []  # one client, made on the first check (in the serving process)

    def check() -> None:
        if not admin:
            admin.append(AdminClient({"bootstrap.servers": brokers, "reconnect.backoff.max.ms": 1000}))
        t = admin[0].list_topics(topic=topic, timeout=1.5).topics.get(topic)
        if t is None or t.error is not None:
            raise RuntimeError(f"topic {topic} unavailable{f': {t.error}' if t is not None else ''}")
    return Dependency("kafka", check)


def liveness_of(consumer, relay, stale_after_s: float = 60.0):
    age = time.monotonic() - consumer.last_loop
    alive = (not relay or relay.is_alive()) and age < stale_after_s
    return alive, {"status": "ok" if alive else "stalled", "last_poll_age_s": round(age, 3)}


def readiness_of(consumer, relay, dependencies: list[Dependency], wait_s: float = 0.5):
    """(ready, body): ready when the loop polls and the relay runs; the dependencies reported."""
    _, live = liveness_of(consumer, relay)
    own = {"consume-loop": OK if live["status"] == "ok" else f"stalled: last poll {live['last_poll_age_s']} s ago",
           "outbox-relay": OK if not relay or relay.is_alive() else "stopped"}
    body, status = readiness(own, dependencies, wait_s)
    return status == 200, body
