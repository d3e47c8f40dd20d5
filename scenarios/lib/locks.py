"""Cross-process reader/writer locks (flock), one per shared component, so `pytest -n 2` never runs
a fault test while a test that needs the same component runs on the other worker, yet lets tests
on disjoint components overlap. Writers (fault tests) go through a turnstile, so a stream of
readers cannot starve them. Locks are taken in name order, whatever the mode: no deadlock.
A writer whose fault is over can downgrade to a reader (``share``) while it still needs the
component undisturbed, so readers waiting for it can start."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from sandbox.poll import until


def _flock(fd: int, mode: int, deadline: float, what: str) -> None:
    def taken() -> bool:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return True

    until(taken, timeout=max(0.0, deadline - time.monotonic()), what=f"{what} taken", interval=0.05,
          not_yet=(BlockingIOError,))


class Held:
    """The locks a test holds: name -> (gate fd, lock fd, exclusive?)."""

    def __init__(self) -> None:
        self.locks: dict[str, tuple[int, int, bool]] = {}

    def share(self, name: str) -> None:
        """Exclusive -> shared. Other writers wait at the gate we still hold, so none can slip in
        while flock converts; then the gate opens for the waiting readers."""
        gate, main, exclusive = self.locks[name]
        if exclusive:
            fcntl.flock(main, fcntl.LOCK_SH)
            fcntl.flock(gate, fcntl.LOCK_UN)
            self.locks[name] = (gate, main, False)


@contextmanager
def domain_locks(folder: Path, exclusive: list[str], shared: list[str] = (), timeout: float = 600):
    """Hold ``exclusive`` locks exclusively and ``shared`` ones shared for the duration of the block."""
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    modes = {name: False for name in shared}
    modes.update({name: True for name in exclusive})  # exclusive wins when a name is in both
    fds: list[int] = []
    held = Held()
    try:
        for name in sorted(modes):
            gate = os.open(folder / f"{name}.gate", os.O_RDWR | os.O_CREAT, 0o644)
            fds.append(gate)
            _flock(gate, fcntl.LOCK_EX, deadline, f"{name} gate")
            main = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            fds.append(main)
            _flock(main, fcntl.LOCK_EX if modes[name] else fcntl.LOCK_SH, deadline, f"{name} lock")
            if not modes[name]:
                fcntl.flock(gate, fcntl.LOCK_UN)  # readers only pass through the turnstile
            held.locks[name] = (gate, main, modes[name])
        yield held
    finally:
        for fd in reversed(fds):
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
