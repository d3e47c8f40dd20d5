"""Group commit of idempotency records against the real Postgres: concurrent claims of one key
make one record, batches mix new and known keys, a dead database answers ClaimUnavailable."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from booking_service.claims import ClaimRejected, ClaimUnavailable, ClaimWriter, Record, _Claim, _Mark
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


def test_a_row_the_database_refuses_fails_only_itself_not_its_batch(pg_engine, make_event):
    """One batch holding good claims, a claim whose user_id Postgres cannot store (past validation,
    as a bug would let through), a twin and a published mark: the batch is refused, then each item is
    written on its own; only the bad claim fails (ClaimRejected), everything else is answered."""
    writer = ClaimWriter(pg_engine.url.render_as_string(hide_password=False))
    eid = make_event(10)
    known = f"claims-{uuid.uuid4()}"
    writer.claim(_record(known, eid), "rid")
    good = [_Claim(_record(f"claims-{uuid.uuid4()}", eid), "rid") for _ in range(5)]
    twin = _Claim(_record(good[0].record.key, eid), "rid")
    bad = _Claim(Record(f"claims-{uuid.uuid4()}", "h", str(uuid.uuid4()), eid, "nul\x00user", 1, time.time()), "rid")
    surrogate = _Claim(Record(f"claims-{uuid.uuid4()}", "h", str(uuid.uuid4()), eid, "lone\ud800", 1, time.time()), "rid")
    mark = _Mark(known)
    batch = [good[0], bad, *good[1:3], twin, surrogate, mark, *good[3:]]
    writer._process(batch)
    assert all(item.done.is_set() for item in batch)
    assert isinstance(bad.error, ClaimRejected) and isinstance(surrogate.error, ClaimRejected)
    for c in good:
        assert c.error is None and c.result == (c.record, True)
    assert twin.error is None and twin.result[1] is False and twin.result[0].booking_id == good[0].record.booking_id
    assert mark.error is None
    assert writer.claim(_record(known, eid), "rid")[0].published
    assert scalar(pg_engine, "SELECT count(*) FROM booking_requests WHERE event_id = :e", e=eid) == 1 + len(good)
    # and the writer thread goes on serving
    assert writer.claim(_record(f"claims-{uuid.uuid4()}", eid), "rid")[1] is True


def test_a_refused_claim_raises_claim_rejected_to_its_caller(pg_engine, make_event):
    writer = ClaimWriter(pg_engine.url.render_as_string(hide_password=False))
    eid = make_event(10)
    with pytest.raises(ClaimRejected):
        writer.claim(Record(f"claims-{uuid.uuid4()}", "h", str(uuid.uuid4()), eid, "nul\x00", 1, time.time()), None)
    assert writer.claim(_record(f"claims-{uuid.uuid4()}", eid), "rid")[1] is True
