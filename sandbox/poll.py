"""The one poll helper of the harness, its tests, the scenarios and the bench.

`wait_for` polls a health probe (returns its last `Health`); `until` polls any check and returns
its first truthy result or raises `TimeoutError` naming what was awaited and the last value seen.
Only the exceptions listed in `not_yet` mean "not ready yet"; any other is a bug in the check or
the thing checked and is raised at once, with its traceback, instead of turning into a timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sandbox.health import Health

T = TypeVar("T")

NOT_YET: tuple[type[BaseException], ...] = (OSError,)  # refused/reset connections, timeouts (requests' too)


class ProcessExited(Exception):
    """A component's process died while we waited for it: waiting longer cannot help."""


def wait_for(check: Callable[[], Health], timeout: float, interval: float = 0.2,
             not_yet: tuple[type[BaseException], ...] = NOT_YET) -> Health:
    """Poll `check()` until it reports ok or the timeout passes; return the last result."""
    deadline = time.monotonic() + timeout
    last = Health(False, "not checked yet")
    while True:
        try:
            last = check()
        except ProcessExited as exc:
            return Health(False, str(exc))
        except not_yet as exc:
            last = Health(False, f"{type(exc).__name__}: {exc}")
        if last.ok or time.monotonic() >= deadline:
            return last
        time.sleep(interval)


def until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.2,
          not_yet: tuple[type[BaseException], ...] = ()) -> T:
    """Poll `check()` until it returns something truthy and return that; after `timeout` seconds
    raise TimeoutError("<what> not reached in <timeout>s; last: <value or exception>")."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = check()
            if value:
                return value
            last = value
        except not_yet as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached in {timeout:g}s; last: {str(last)[:500]}")
        time.sleep(interval)
