"""Schemathesis hooks (``SCHEMATHESIS_HOOKS=svc_common.schemathesis_hooks``) that keep a fuzzing run
against a live sandbox from touching anybody else's data. Loaded by the CLI that
``svc_common.schemathesis_run`` starts; configured from its env:

- ``SVC_FUZZ_BOOK_EVENT``: every booking (``/book``, ``/api/book``) whose ``event_id`` is a
  plausible id of an existing event (a positive int below 10**9) books this event instead, one the
  run made for itself; larger ids are left alone (they exercise the 404 path);
- ``SVC_FUZZ_DELETE_EVENT``: every ``DELETE /events/{event_id}`` deletes this throwaway event instead
  (the first one does, the others answer 404), so no real event can be deleted;
- ``SVC_FUZZ_RECORD``: a JSON-lines file; each event and user the run created is appended to it, for
  the run to clean up afterwards.

It also makes the input more hostile than schemathesis' own strings (which, on a few examples,
rarely hold a NUL and never a lone surrogate: its codec is UTF-8): every ``SVC_FUZZ_HOSTILE_EVERY``-th
request (default 3; 0 = never) with a text field in its JSON body or query is sent with one such
field spiked, in turn with a NUL (U+0000), a lone surrogate (JSON ``"\\ud800"``) and 5,000
characters. The spike goes into the last body (or query) of that operation the API accepted, so it
is the only thing wrong with the request: text that Postgres or DynamoDB cannot store, which must
be answered 4xx, never 5xx.
"""
from __future__ import annotations

import json
import os

import schemathesis

PLAUSIBLE_ID = 10**9


def _remap_event_id(value):
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < PLAUSIBLE_ID:
        return int(os.environ["SVC_FUZZ_BOOK_EVENT"])
    return value


SPIKES = ("nul\x00inside", "lone\ud800surrogate", "x" * 5000)
URL_SPIKES = (SPIKES[0], SPIKES[2])  # a URL (or a form) carries UTF-8: no lone surrogate in one
_SURROGATE = "\ud800"
_state: dict = {"calls": 0, "spiked": 0, "accepted": {}}


def _spike(values: dict, spikes: tuple[str, ...]) -> dict | None:
    """``values`` with one text field spiked (fields and spikes in turn), or None without a text field."""
    text_fields = sorted(k for k, v in values.items() if isinstance(k, str) and isinstance(v, str))
    if not text_fields:
        return None
    n = _state["spiked"]
    _state["spiked"] += 1
    return {**values, text_fields[n % len(text_fields)]: spikes[(n // len(text_fields)) % len(spikes)]}


def _maybe_spike(case) -> None:
    """Spike a body or query the API accepted before (so the spike is the only thing wrong with it),
    else the generated one."""
    every = int(os.environ.get("SVC_FUZZ_HOSTILE_EVERY", "3"))
    _state["calls"] += 1
    if not every or _state["calls"] % every:
        return
    accepted = _state["accepted"].get((case.method.upper(), case.operation.path), {})
    body = accepted.get("body", case.body)
    query = accepted.get("query", case.query)
    is_json = "json" in (case.media_type or "")
    if isinstance(body, dict) and (spiked := _spike(body, SPIKES if is_json else URL_SPIKES)) is not None:
        case.body = spiked
    elif isinstance(query, dict) and (spiked := _spike(query, URL_SPIKES)) is not None:
        case.query = spiked


@schemathesis.hook
def before_call(context, case, **kwargs):
    _maybe_spike(case)
    path = case.operation.path
    if path in ("/book", "/api/book") and isinstance(case.body, dict) and "event_id" in case.body:
        case.body = {**case.body, "event_id": _remap_event_id(case.body["event_id"])}
    if case.method.upper() == "DELETE" and path.startswith("/events/") and case.path_parameters:
        case.path_parameters = {**case.path_parameters, "event_id": int(os.environ["SVC_FUZZ_DELETE_EVENT"])}
    if isinstance(case.body, dict) and any(isinstance(v, str) and _SURROGATE in v for v in case.body.values()):
        # a lone surrogate has no UTF-8 form: send the body as JSON text with the "\ud800" escape
        # (what a client's JSON encoder emits), not as a str schemathesis would try to encode
        case.body = json.dumps(case.body).encode()


@schemathesis.hook
def after_call(context, case, response):
    path, method = case.operation.path, case.method.upper()
    if 200 <= response.status_code < 300:
        remembered = {}
        if isinstance(case.body, dict):
            remembered["body"] = dict(case.body)
        if isinstance(case.query, dict) and case.query:
            remembered["query"] = dict(case.query)
        if remembered:
            _state["accepted"][(method, path)] = remembered
    created = None
    if method == "POST" and response.status_code == 201:
        try:
            body = response.json()
        except ValueError:
            return
        if path in ("/events",) and isinstance(body, dict) and "id" in body:
            created = {"event": body["id"]}
        elif path in ("/users", "/api/users") and isinstance(body, dict) and "user_id" in body:
            created = {"user": body["user_id"], "email": body.get("email")}
    if created:
        with open(os.environ["SVC_FUZZ_RECORD"], "a") as record:
            record.write(json.dumps(created) + "\n")
