"""Production server for the HTTP services: Granian (a Rust HTTP server) running a Flask app
factory over WSGI, configured from env like a gunicorn.conf.py.

    python -m svc_common.serve booking_service.app:create_app     # HOST, PORT, WEB_CONCURRENCY, WSGI_THREADS

Why not gunicorn: its Python HTTP handling (gthread worker) cost ~0.35 ms of CPU per request on
top of the app, about as much as a booking itself; Granian parses HTTP in Rust (0.2 ms per request
for a bare Flask app against 0.55 ms under gunicorn gthread, measured on the same 2-core machine).
And a gunicorn that had served traffic sometimes ignored its stop signal until SIGKILL.
"""
from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    if len(argv) != 1 or ":" not in argv[0]:
        sys.exit("usage: python -m svc_common.serve <module>:<app factory>")
    Granian(
        argv[0],
        factory=True,
        interface=Interfaces.WSGI,
        address=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
        workers=int(os.environ.get("WEB_CONCURRENCY", "1")),
        # request threads per worker process: requests mostly wait on I/O (database, Kafka, upstreams)
        blocking_threads=int(os.environ.get("WSGI_THREADS", "32")),
        backlog=2048,
        respawn_failed_workers=True,
        # A worker with app threads (Kafka poll, DB writer) can miss its stop signal: Python runs
        # signal handlers in the main thread only, and a signal taken by another thread does not
        # wake a main thread blocked on a lock. Granian then kills it after this many seconds
        # instead of waiting forever (scale-down drains requests first; `down` stops everything).
        workers_kill_timeout=2,
        log_access=False,  # the app writes one JSON access line per request
    ).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
