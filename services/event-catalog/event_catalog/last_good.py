"""The last page answered per query, kept to answer while the database is down (stale-if-error,
as RFC 5861 names it for HTTP caches).

Listing events is what the page and every browsing client do first; a database restart or
failover should not blank it. Each replica keeps the last page it answered for each query
(``limit``, cursor, ``name``), at most ``max_entries`` of them (least recently used go first),
and serves one only when the database is unavailable and the copy is at most ``max_age_s`` old.
The readiness check also lists the first page (``keep_first_page``) when this replica's copy of it
is missing or older than ``refresh_s``: a replica the balancer never sent a list to (a new one, or
one a random balancer skipped) can answer it too. Such a copy may show stale ``tickets_available``; a booking is decided by the consumer against
the database anyway. Nothing else is cached: an answer from a working database is always fresh.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable

from sqlalchemy.engine import Engine

from . import models
from .models import Page
from .validation import DEFAULT_LIMIT

FIRST_PAGE = (DEFAULT_LIMIT, None, None)  # the key of GET /events with no query (routes.list_events)


class LastGoodPages:
    def __init__(self, max_age_s: float = 300.0, max_entries: int = 64):
        self.max_age_s, self.max_entries = max_age_s, max_entries
        self._pages: OrderedDict[Hashable, tuple[Page, float]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: Hashable, page: Page) -> None:
        with self._lock:
            self._pages[key] = (page, time.monotonic())
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)

    def age(self, key: Hashable) -> float | None:
        with self._lock:
            kept = self._pages.get(key)
        return None if kept is None else time.monotonic() - kept[1]

    def get(self, key: Hashable) -> tuple[Page, float] | None:
        """The page kept for ``key`` and its age in seconds, unless there is none young enough."""
        with self._lock:
            kept = self._pages.get(key)
        if kept is None:
            return None
        page, stored = kept
        age = time.monotonic() - stored
        return (page, age) if age <= self.max_age_s else None


def keep_first_page(engine: Engine, pages: LastGoodPages, refresh_s: float = 30.0) -> None:
    """The database readiness check: raise unless the database answers; list the first page into
    ``pages`` when their copy is missing or older than ``refresh_s`` (else only the cheap check)."""
    age = pages.age(FIRST_PAGE)
    if age is None or age > refresh_s:
        pages.put(FIRST_PAGE, models.list_events(engine, DEFAULT_LIMIT))
    else:
        models.check(engine)
