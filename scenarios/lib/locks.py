"""Cross-process reader/writer locks (flock) so `pytest -n 2` never runs a fault test while a flow
test that uses the same components runs on the other worker. Writers (fault tests) go through a
turnstile, so a stream of readers cannot starve them."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path


def _flock(fd: int, mode: int, deadline: float, what: str) -> None:
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not take {what} within the deadline") from None
            time.sleep(0.05)


@contextmanager
def domain_locks(folder: Path, domains: list[str], exclusive: bool, timeout: float = 600):
    """Hold the named locks (sorted, so two holders never deadlock) for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    fds: list[int] = []
    try:
        for name in sorted(set(domains)):
            gate = os.open(folder / f"{name}.gate", os.O_RDWR | os.O_CREAT, 0o644)
            fds.append(gate)
            _flock(gate, fcntl.LOCK_EX, deadline, f"{name} gate")
            main = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            fds.append(main)
            _flock(main, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, deadline, f"{name} lock")
            if not exclusive:
                fcntl.flock(gate, fcntl.LOCK_UN)  # readers only pass through the turnstile
        yield
    finally:
        for fd in reversed(fds):
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
