"""What one batch reads does not grow with the store; reused event ids are conflicts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from rolepulse.consumers.decode import Accepted, decode_message
from rolepulse.consumers.store import Delivered, MongoBatchStore
from rolepulse.domain.normalize import Normalizer
from rolepulse.settings import MongoSettings
from rolepulse.taxonomy import load_taxonomy

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)
NORMALIZER = Normalizer(load_taxonomy())
_offsets = iter(range(1_000_000))


def event(eid: str, source: str, sid: str, at: datetime, **posting: Any) -> bytes:
    body = {"title": "Senior LLM Engineer", "company": "Acme", "location": "Austin, TX"}
    return json.dumps(
        {
            "version": 1,
            "event_id": eid,
            "event_type": "posting.observed",
            "occurred_at": at.isoformat(),
            "source": source,
            "posting": {"source_id": sid, **body, **posting},
        }
    ).encode()


def delivered(raw: bytes) -> Delivered:
    outcome = decode_message(raw, NORMALIZER)
    assert isinstance(outcome, Accepted), outcome
    return Delivered("postings", 0, next(_offsets), outcome.transition, None, raw, outcome.digest)


@pytest.fixture
async def store(mongo_settings: MongoSettings) -> AsyncIterator[MongoBatchStore]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_settings.uri, tz_aware=True)
    store = MongoBatchStore(client, mongo_settings.database)
    await store.ensure_indexes()
    yield store
    await client.close()


async def apply(store: MongoBatchStore, raws: Sequence[bytes]) -> Any:
    return await store.apply([delivered(r) for r in raws])


async def test_reads_depend_on_the_batch_not_on_how_many_postings_share_its_key(
    store: MongoBatchStore,
) -> None:
    # One board re-posts the same job (same company, title and metro) every day for 300 days:
    # 300 postings with one cluster key, each its own requisition.
    history = [event(f"h{i}", "greenhouse", f"g{i}", T0 + timedelta(days=i)) for i in range(300)]
    for i in range(0, 300, 100):
        await apply(store, history[i : i + 100])

    later = T0 + timedelta(days=299, hours=1)
    reobserved = await apply(store, [event("r1", "greenhouse", "g299", later)])
    assert reobserved.applied == 1
    assert reobserved.reads == 1  # the posting itself: its cluster cannot change

    # A new board posting of that job looks for clusters first seen within 30 days of it: it
    # reads the key's postings in the (at most three) 30-day slots around it, then the clusters
    # found in the window whole (their 31 one-board members, again). Not the 300.
    joined = await apply(store, [event("n1", "lever", "l1", later)])
    assert joined.applied == 1
    assert joined.reads <= 3 * 30 + 31 + 1, joined.reads

    closed = json.dumps(
        {
            "version": 1,
            "event_id": "c1",
            "event_type": "posting.closed",
            "occurred_at": (later + timedelta(hours=1)).isoformat(),
            "source": "greenhouse",
            "posting": {"source_id": "g150"},
        }
    ).encode()
    result = await apply(store, [closed])
    assert result.reads <= 2, result.reads  # the posting and its (one-board) cluster


async def test_an_event_id_reused_with_other_content_is_a_conflict_not_a_duplicate(
    store: MongoBatchStore, mongo_settings: MongoSettings
) -> None:
    first = event("e1", "greenhouse", "g1", T0)
    await apply(store, [first])
    again = await apply(store, [first])
    assert (again.applied, again.duplicates, again.conflicts) == (0, 1, 0)

    reused = event("e1", "greenhouse", "g1", T0 + timedelta(hours=1), title="Data Scientist")
    clash = await apply(store, [reused])
    assert (clash.applied, clash.duplicates, clash.conflicts, clash.rejected) == (0, 0, 1, 1)

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_settings.uri)
    try:
        db = client[mongo_settings.database]
        (reject,) = await db.rejects.find({}).to_list()
        assert reject["reason"].startswith("conflict: event_id 'e1'")
        assert reject["raw"] == reused
        posting = await db.postings.find_one({"_id": "greenhouse:g1"})
        assert posting is not None
        assert posting["title"] == "Senior LLM Engineer"  # the first content stands
    finally:
        await client.close()


async def test_every_lookup_of_a_batch_is_an_index_scan(
    store: MongoBatchStore, mongo_settings: MongoSettings
) -> None:
    await apply(store, [event(f"x{i}", "greenhouse", f"g{i}", T0) for i in range(3)])
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_settings.uri)
    try:
        postings = client[mongo_settings.database].postings
        # The shapes MongoBatchStore._find_in sends: one indexed field, an `$in` list.
        for field in ("_id", "cluster_id", "cluster_slot"):
            plan = await postings.find({field: {"$in": ["a", "b"]}}).explain()
            winning = plan["queryPlanner"]["winningPlan"]
            assert winning["inputStage"]["stage"] == "IXSCAN", (field, winning)
    finally:
        await client.close()
