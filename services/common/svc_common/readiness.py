"""Readiness: a replica's own ability to serve; its dependencies are reported, not obeyed.

The gateway (HAProxy playing the Kubernetes Services) checks ``/ready`` every 2 s per ready
replica (every second while it is not ready) and takes a replica out on the first failure. If ``/ready`` followed the downstreams, one
broker or database outage would take every replica of every service out of its balancer, and the
routes that never touch the failed downstream would fail too (measured: ``GET /api/events``
answered 503 while only Kafka was down). So ``/ready`` is 200 when the process itself can serve
(the app is built, its own pools and worker threads run) and lists each dependency's state in its
body; a request that needs a downstream that is down is answered by its route with 503
``{"error", "field": null, "retryable": true}``.

A :class:`Dependency` is checked at most once per ``ttl_s``, in a background thread, never twice at
once, with the check's own short timeouts: asking costs nothing, so probes may ask every second.
Only the first ask waits for the first check (at most ``wait_s``). Traffic reports what it saw
(:meth:`Dependency.report`), so the state follows a real failure at once.
"""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable

OK = "ok"
UNKNOWN = "unknown: not checked yet"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


class Dependency:
    """One downstream's last known state: ``"ok"`` or ``"unavailable: <reason>"``.

    ``check`` raises when the downstream cannot serve (and bounds itself with short timeouts).
    """

    def __init__(self, name: str, check: Callable[[], object], ttl_s: float = 2.0):
        self.name, self.check, self.ttl_s = name, check, ttl_s
        self._lock = threading.Lock()
        self._state: str | None = None
        self._at = 0.0
        self._checking: threading.Event | None = None
        self._pid = os.getpid()

    def status(self, wait_s: float = 0.0) -> str:
        """The last known state; starts a check in the background when it is older than ``ttl_s``.
        Waits (at most ``wait_s``) only while nothing is known yet."""
        checking = self._refresh_if_stale()
        if self._state is None and checking is not None and wait_s > 0:
            checking.wait(wait_s)
        return self._state or UNKNOWN

    def down(self) -> str | None:
        """Why it is down by the last observation, else None (up, or not known yet). Never waits:
        for a route that fails fast instead of waiting on a downstream known to be down."""
        state = self.status()
        return None if state in (OK, UNKNOWN) else state

    def report(self, error: BaseException | str | None = None) -> None:
        """What traffic just saw: None for success, else the error."""
        if error is None:
            state = OK
        else:
            state = f"unavailable: {error if isinstance(error, str) else _reason(error)}"
        with self._lock:
            self._state, self._at = state, time.monotonic()

    def _refresh_if_stale(self) -> threading.Event | None:
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's check thread is not here
                self._pid, self._checking = os.getpid(), None
            if self._checking is not None:
                return self._checking
            if self._state is not None and time.monotonic() - self._at < self.ttl_s:
                return None
            self._checking = checking = threading.Event()
        threading.Thread(target=self._run, args=(checking,), name=f"check-{self.name}", daemon=True).start()
        return checking

    def _run(self, checking: threading.Event) -> None:
        try:
            self.check()
            state = OK
        except Exception as exc:  # noqa: BLE001 - any failure is the dependency's state
            state = f"unavailable: {_reason(exc)}"
        with self._lock:
            self._state, self._at, self._checking = state, time.monotonic(), None
        checking.set()


def readiness(own: dict[str, str], dependencies: Iterable[Dependency], wait_s: float = 0.5) -> tuple[dict, int]:
    """The ``/ready`` answer as (body, status): 200 when every ``own`` check is ``"ok"``, else 503;
    the dependencies' states are reported either way, never decisive."""
    dependencies = list(dependencies)
    for dependency in dependencies:  # start every stale check first: the first ask waits for all at once
        dependency.status()
    deadline = time.monotonic() + wait_s
    states = {d.name: d.status(wait_s=max(0.0, deadline - time.monotonic())) for d in dependencies}
    ok = all(state == OK for state in own.values())
    return {"status": "ready" if ok else "unavailable", "own": own, "dependencies": states}, 200 if ok else 503
