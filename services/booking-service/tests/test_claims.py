"""Group commit of idempotency records against the real Postgres: concurrent claims of one key
make one record, batches mix new and known keys, a dead database answers ClaimUnavailable."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from booking_service.claims import ClaimUnavailable, ClaimWriter, Record
from conftest import scalar


def _record(key: str, event_id: int, ticket_count: int = 1) -> Record:
    return Record(key, f"hash-{ticket_count}", str(uuid.uuid4()), event_id, "claims-test", ticket_count, time.time())


def test_concurrent_claims_of_one_key_make_one_record(pg_engine, make_event):
    writer = ClaimWriter(pg_engine.url.render_as_string(hide_password=False))
    eid = make_event(10)
    keys = [f"claims-{uuid.uuid4()}" for _ in range(20)]
    attempts = [k for k in keys for _ in range(5)]  # every key five times, all at once
    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(lambda k: (k, writer.claim(_record(k, eid), "rid")), attempts))
    for key in keys:
        mine = [(rec, created) for k, (rec, created) in results if k == key]
        assert sum(created for _, created in mine) == 1, key
        assert len({rec.booking_id for rec, _ in mine}) == 1, key
        assert scalar(pg_engine, "SELECT count(*) FROM booking_requests WHERE idempotency_key = :k", k=key) == 1


def test_known_key_returns_the_stored_record_and_its_published_mark(pg_engine, make_event):
    writer = ClaimWriter(pg_engine.url.render_as_string(hide_password=False))
    eid = make_event(10)
    key = f"claims-{uuid.uuid4()}"
    first, created = writer.claim(_record(key, eid, 2), "rid")
    assert created and not first.published
    writer.mark_published(key)
    again, created = writer.claim(_record(key, eid, 3), "rid")
    assert not created and again.published
    assert (again.booking_id, again.ticket_count, again.request_hash) == (first.booking_id, 2, "hash-2")


def test_unreachable_database_raises_claim_unavailable():
    writer = ClaimWriter("postgresql://nobody:x@127.0.0.1:1/none", timeout_s=10)
    with pytest.raises(ClaimUnavailable):
        writer.claim(_record(f"claims-{uuid.uuid4()}", 1), None)
