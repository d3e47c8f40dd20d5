"""Run a function inside the cluster's network namespace, from the sandbox's own process.

A network namespace is per thread: a fresh thread enters it, runs the function (a health check
through the real client: an HTTP GET, a DNS query) and ends, so no other thread ever changes
namespace. Only the sandbox's health checks use this; users reach the cluster through the ports
forwarded to 127.0.0.1.
"""

from __future__ import annotations

import ctypes
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

CLONE_NEWNET = 0x40000000
T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)


def enter(netns: Path) -> None:
    """Move the calling thread into the network namespace at `netns` (a bind-mounted ns file)."""
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns({netns}): {os.strerror(errno)}")
    finally:
        os.close(fd)


def run_inside(netns: Path, fn: Callable[[], T], timeout: float = 5.0) -> T:
    """fn() in a thread of its own inside `netns`; its exception is raised here."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            enter(netns)
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name="in-cluster-netns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer inside the cluster's network namespace in {timeout:.0f}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
