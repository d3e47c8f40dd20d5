"""A small client of the logs store (VictoriaLogs' LogsQL HTTP API), for `sandbox trace`.

`/select/logsql/query` answers JSON lines, one log entry each: `_time`, `_msg`, `_stream` and every
field the shipper parsed (`component`, `pod`, `level`, `request_id`, `booking_id`, ...). Values
come back as strings. A store that does not answer is `LogsStoreUnavailable`, which the CLI turns
into the fix (start it), never a traceback.
"""

from __future__ import annotations

import json

FIX = "start it: `sandbox up --only victoria-logs,log-shipper`, or all of the sandbox: `sandbox up`"


class LogsStoreUnavailable(RuntimeError):
    """The logs store is not running or does not answer LogsQL."""


def quote(value: str) -> str:
    """A LogsQL string literal (double-quoted, JSON escapes are LogsQL's too)."""
    return json.dumps(str(value))


def parse_time(text: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 time as the store writes `_time` (nanoseconds, `Z`), or None."""
    from datetime import datetime

    if not text:
        return None
    head, _, frac = text.rstrip("Z").partition(".")
    offset = ""
    for sign in ("+", "-"):
        if sign in frac:
            frac, _, rest = frac.partition(sign)
            offset = sign + rest
    try:
        whole = datetime.fromisoformat(head + (offset or "+00:00"))
    except ValueError:
        return None
    return whole.timestamp() + (float(f"0.{frac}") if frac.isdigit() else 0.0)


class LogsStore:
    def __init__(self, url: str, timeout_s: float = 5.0):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    def query(self, logsql: str, limit: int = 1000) -> list[dict]:
        """The entries matching ``logsql`` (at most ``limit``), oldest first (by `_time`)."""
        import requests

        try:
            response = requests.post(f"{self.url}/select/logsql/query", timeout=self.timeout_s,
                                     data={"query": logsql, "limit": str(limit)})
        except requests.RequestException as exc:
            raise LogsStoreUnavailable(f"the logs store at {self.url} does not answer ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise LogsStoreUnavailable(f"the logs store at {self.url} answered {response.status_code}: "
                                       f"{response.text.strip()[:200]}")
        rows = [json.loads(line) for line in response.text.splitlines() if line.strip()]
        return sorted(rows, key=lambda row: parse_time(row.get("_time")) or 0.0)

    def last_lines(self, component: str, n: int = 10) -> list[dict]:
        """The newest ``n`` entries of one component, oldest first."""
        return self.query(f"component:={quote(component)} | sort by (_time desc) | limit {int(n)}", limit=n)
