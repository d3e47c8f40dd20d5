"""What a health check answers, and the probes a component declares as data.

A probe is how the harness asks "is it ready?": an HTTP GET, a TCP connect, or a call through the
component's real client, each with the exceptions that mean "not yet" listed explicitly (anything
else is a bug and surfaces at once, see sandbox/poll.py).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Health:
    ok: bool
    detail: str = ""
    skipped: bool = False  # a task that cannot run here (e.g. no terraform): shown, not a failure


@dataclass(frozen=True)
class HttpProbe:
    """Ready when GET <url> answers 2xx/3xx within `timeout`."""

    url: str
    timeout: float = 2.0
    not_yet: tuple[type[BaseException], ...] = (OSError,)  # requests' errors are OSErrors

    def __call__(self) -> Health:
        import requests

        response = requests.get(self.url, timeout=self.timeout)
        path = "/" + self.url.split("/", 3)[-1] if self.url.count("/") >= 3 else self.url
        return Health(response.ok, f"{path} {response.status_code}")


@dataclass(frozen=True)
class TcpProbe:
    """Ready when something accepts a connection on 127.0.0.1:<port>."""

    port: int
    timeout: float = 1.0
    not_yet: tuple[type[BaseException], ...] = (OSError,)

    def __call__(self) -> Health:
        with socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout):
            return Health(True, f"port {self.port} accepts connections")


@dataclass(frozen=True)
class ClientProbe:
    """Ready when `check()` (a call through the component's real client) says so; `not_yet` are
    that client's connection errors."""

    check: Callable[[], Health]
    not_yet: tuple[type[BaseException], ...] = (OSError,)

    def __call__(self) -> Health:
        return self.check()


Probe = HttpProbe | TcpProbe | ClientProbe
