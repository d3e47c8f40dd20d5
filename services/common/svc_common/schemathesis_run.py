"""Fuzz a running service from its own OpenAPI document (``<url>/openapi.json``) with schemathesis
and report any 5xx: what each HTTP service's ``tests/test_*_schemathesis.py`` runs against the
sandbox (``make test`` exports the service URLs).

Bounded: ``SCHEMATHESIS_MAX_EXAMPLES`` (default 10) examples per operation in the fuzzing phase
plus the coverage phase's boundary cases (NUL in strings, empty/oversized values, wrong types...),
one worker, a fixed seed (``SCHEMATHESIS_SEED``, 1: a failure reproduces), 10 s per request and a
wall-clock limit for the whole run (``SCHEMATHESIS_TIMEOUT_S``, default 300 s). The only check is
``not_a_server_error``: the services' promise is no 5xx on any input.

Safe on the developer's sandbox: the run books only an event it made for itself and deletes only a
throwaway event (``svc_common.schemathesis_hooks``); afterwards it purges both, the events it
created (``POST /events``) with any bookings, and the users it registered. It needs
``EVENT_SERVICE_URL`` and a database URL for that (and ``USERS_TABLE`` plus the AWS endpoint for
users); a caller skips without them.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import requests

from .db import database_url_from_env
from .pg_cleanup import purge_events


@dataclass
class Outcome:
    returncode: int
    output: str
    created_events: list[int]
    created_users: list[dict]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def summary(self, tail: int = 12000) -> str:
        return self.output[-tail:]


def missing_env(*names: str) -> list[str]:
    """Which of the settings the run needs are absent (``DATABASE_URL`` stands for it or DB_*)."""
    missing = [name for name in names if name != "DATABASE_URL" and not os.environ.get(name)]
    if "DATABASE_URL" in names and not database_url_from_env():
        missing.append("DATABASE_URL")
    return missing


def assert_no_5xx(url_env: str, *needed_env: str, events: bool = True) -> None:
    """Each service's schemathesis test: the run against the service at $url_env, skipped (saying
    why) where the sandbox's endpoints are not set."""
    import pytest

    missing = missing_env(url_env, *needed_env)
    if missing:
        pytest.skip(f"needs the running sandbox: {', '.join(missing)} not set (run inside `sandbox env`)")
    outcome = run(os.environ[url_env], events=events)
    assert outcome.ok, outcome.summary()


def _event(catalog: str, name: str, capacity: int) -> int:
    r = requests.post(f"{catalog}/events", timeout=10, json={
        "name": name, "date": "2030-01-01", "venue": "schemathesis", "capacity": capacity})
    r.raise_for_status()
    return r.json()["id"]


def run(base_url: str, *, events: bool = True, max_examples: int | None = None, timeout_s: float | None = None,
        extra_args: tuple[str, ...] = ()) -> Outcome:
    """``schemathesis run <base_url>/openapi.json`` as above; cleans up whatever it created.
    ``events=False``: the service neither books nor touches events (no event-catalog needed)."""
    base_url = base_url.rstrip("/")
    catalog = os.environ["EVENT_SERVICE_URL"].rstrip("/") if events else ""
    database_url = database_url_from_env()
    max_examples = max_examples or int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
    timeout_s = timeout_s or float(os.environ.get("SCHEMATHESIS_TIMEOUT_S", "300"))
    book_event = _event(catalog, "schemathesis bookings", 1_000_000) if events else 0
    delete_event = _event(catalog, "schemathesis deletable", 1) if events else 0
    events_made, users = ([book_event, delete_event] if events else []), []
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as work:
        record = Path(work) / "created.jsonl"
        record.touch()
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "svc_common.schemathesis_hooks",
               "SVC_FUZZ_BOOK_EVENT": str(book_event), "SVC_FUZZ_DELETE_EVENT": str(delete_event),
               "SVC_FUZZ_RECORD": str(record), "NO_COLOR": "1"}
        command = [str(Path(sys.executable).with_name("schemathesis")), "run", f"{base_url}/openapi.json",
                   "--checks", "not_a_server_error", "--phases", "examples,coverage,fuzzing",
                   "--max-examples", str(max_examples), "--seed", os.environ.get("SCHEMATHESIS_SEED", "1"),
                   "--workers", "1", "--request-timeout", "10", "--suppress-health-check", "all",
                   "--generation-database", "none", "--no-color", *extra_args]
        try:
            done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout_s)
            returncode, output = done.returncode, done.stdout + done.stderr
        except subprocess.TimeoutExpired as exc:
            returncode = -1
            output = f"schemathesis did not finish in {timeout_s:.0f} s\n" + (
                (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or ""))
        for line in record.read_text().splitlines():
            item = json.loads(line)
            if "event" in item:
                events_made.append(item["event"])
            else:
                users.append(item)
    _clean_up(database_url, catalog, events_made, users)
    return Outcome(returncode, output, events_made, users)


def _clean_up(database_url: str | None, catalog: str, events: list[int], users: list[dict]) -> None:
    if not events:
        pass
    elif database_url and database_url.startswith("postgres"):
        purge_events(database_url, events, wait_decided_s=15)  # bookings: the sandbox's consumer decides them
    else:  # no database: delete what nobody booked
        for event_id in events:
            requests.delete(f"{catalog}/events/{event_id}", timeout=10)
    if users and os.environ.get("USERS_TABLE"):
        import boto3

        from .text import unstorable_reason

        table, dynamodb = os.environ["USERS_TABLE"], boto3.client("dynamodb")
        for user in users:
            keys = [user["user"]]
            if isinstance(user.get("email"), str) and not unstorable_reason(user["email"]):
                keys.append("email#" + user["email"].lower())
            for key in keys:
                dynamodb.delete_item(TableName=table, Key={"user_id": {"S": key}})
