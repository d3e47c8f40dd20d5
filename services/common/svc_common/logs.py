"""JSON log lines on stderr: one object per line, so log tooling needs no parsing rules.

Every line has ``ts, level, logger, service, message``, ``request_id`` when there is one, the
record's ``extra={...}`` fields at the top level, and ``exception`` for a logged traceback.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime

from .request_id import get_request_id

# attributes every LogRecord has; anything else on a record came from ``extra=``
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service
        # the pod's name in Kubernetes (and the replica's in the sandbox): which replica said it
        self.pod = os.environ.get("HOSTNAME")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
        }
        if self.pod:
            entry["pod"] = self.pod
        request_id = getattr(record, "request_id", None) or get_request_id()
        if request_id:
            entry["request_id"] = request_id
        entry["message"] = record.getMessage()
        entry.update((key, value) for key, value in vars(record).items()
                     if key not in _STANDARD and key not in entry)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str | None = None) -> None:
    """Route every record of the process to stderr as JSON (idempotent: replaces its own handler)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, JsonFormatter):
            root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root.addHandler(handler)
    root.setLevel((level or os.environ.get("LOG_LEVEL", "INFO")).upper())
    # client libraries log every retry at INFO; the services log the failures they answer for
    for noisy in ("botocore", "boto3", "s3transfer", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
