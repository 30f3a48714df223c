"""The week index (`role_weekly_index`, schema/documents.py) kept by the consumer, and the
weekly history's reads of one batch: one index scan per role, from the week before the batch.

SecantusDB plans `$in` over roles plus a range on weeks as a collection scan and reads every
document it scans whole (DESIGN.md), so the consumer's old read of `role_weekly` grew with the
whole history; `explain` of what a batch now sends shows index scans of a few documents.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient, MongoClient, monitoring

from rolepulse.consumers.decode import Accepted, decode_message
from rolepulse.consumers.store import Delivered, MongoBatchStore
from rolepulse.consumers.verify import week_index_differences
from rolepulse.domain.history import iso_week, week_start
from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.documents import ROLE_WEEKLY_INDEX, WEEK_INDEX_COMPLETE
from rolepulse.settings import MongoSettings
from rolepulse.taxonomy import load_taxonomy

T0 = datetime(2025, 1, 6, 9, tzinfo=UTC)  # 2025-W02
NORMALIZER = Normalizer(load_taxonomy())
LLM = "llm-engineer"
_offsets = iter(range(1_000_000))


def event(eid: str, at: datetime, title: str = "Senior LLM Engineer") -> bytes:
    posting = {"source_id": eid, "title": title, "company": "Acme", "location": "Austin, TX"}
    body = {
        "version": 1,
        "event_id": eid,
        "event_type": "posting.observed",
        "occurred_at": at.isoformat(),
        "source": "greenhouse",
        "posting": posting,
    }
    return json.dumps(body).encode()


def delivered(raw: bytes) -> Delivered:
    outcome = decode_message(raw, NORMALIZER)
    assert isinstance(outcome, Accepted), outcome
    return Delivered("postings", 0, next(_offsets), outcome.transition, None, raw, outcome.digest)


class WeeklyFinds(monitoring.CommandListener):
    """The filters of every `find` the store sends to `role_weekly`."""

    def __init__(self) -> None:
        self.filters: list[dict[str, Any]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command.get("find") == "role_weekly":
            self.filters.append(dict(event.command.get("filter", {})))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def finds() -> WeeklyFinds:
    return WeeklyFinds()


@pytest.fixture
async def store(
    mongo_settings: MongoSettings, finds: WeeklyFinds
) -> AsyncIterator[MongoBatchStore]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_settings.uri, tz_aware=True, event_listeners=[finds]
    )
    yield MongoBatchStore(client, mongo_settings.database)
    await client.close()


def stored(mongo: MongoSettings) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(the index's lists, the weeks `role_weekly` holds), per role; the marker must be there."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo.uri)
    try:
        db = client[mongo.database]
        docs = list(db[ROLE_WEEKLY_INDEX].find({}))
        assert WEEK_INDEX_COMPLETE in {d["_id"] for d in docs}
        index = {d["_id"]: d["weeks"] for d in docs if d["_id"] != WEEK_INDEX_COMPLETE}
        weeks: dict[str, list[str]] = {}
        for d in db.role_weekly.find({}, {"role": 1, "week": 1}).sort("week", 1):
            weeks.setdefault(d["role"], []).append(d["week"])
        return index, weeks
    finally:
        client.close()


async def verified(mongo: MongoSettings) -> list[str]:
    """What `rolepulse verify` reports of the week index."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri, tz_aware=True)
    try:
        return await week_index_differences(client[mongo.database])
    finally:
        await client.close()


async def apply(store: MongoBatchStore, raws: Sequence[bytes]) -> None:
    await store.apply([delivered(r) for r in raws])


async def test_every_new_week_joins_the_index_in_its_batch_late_ones_included(
    store: MongoBatchStore, mongo_settings: MongoSettings
) -> None:
    await store.ensure_indexes()  # an empty history: the index is complete at once
    assert stored(mongo_settings) == ({}, {})
    await apply(store, [event("a", T0), event("b", T0 + timedelta(weeks=3))])
    await apply(store, [event("c", T0 + timedelta(weeks=5), "AI Product Manager")])
    # Late: a week between two the role has, and one before its first.
    await apply(store, [event("d", T0 + timedelta(weeks=1)), event("e", T0 - timedelta(weeks=2))])
    index, weeks = stored(mongo_settings)
    assert index == weeks
    assert len(index[LLM]) == 4
    assert index["ai-product-manager"] == [iso_week(T0 + timedelta(weeks=5))]
    assert await verified(mongo_settings) == []
    # `verify` sees a week the index lost, which every trend would silently drop.
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_settings.uri)
    try:
        lost = index[LLM][1]
        client[mongo_settings.database][ROLE_WEEKLY_INDEX].update_one(
            {"_id": LLM}, {"$pull": {"weeks": lost}}
        )
    finally:
        client.close()
    assert await verified(mongo_settings) == [
        f"{ROLE_WEEKLY_INDEX}/{LLM}: lists 3 weeks, 4 stored (missing {[lost]}, without a "
        "document [])"
    ]


async def test_history_written_before_the_index_is_listed_once_by_ensure_indexes(
    store: MongoBatchStore, mongo_settings: MongoSettings
) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_settings.uri)
    try:
        docs = []
        for i in range(0, 60, 3):
            at = T0 + timedelta(weeks=i)
            week = iso_week(at)
            start = datetime.combine(week_start(at), time(), UTC)
            docs.append({"_id": f"{LLM}|{week}", "role": LLM, "week": week, "week_start": start})
        client[mongo_settings.database].role_weekly.insert_many(docs)
    finally:
        client.close()
    await store.ensure_indexes()
    await store.ensure_indexes()  # idempotent
    index, weeks = stored(mongo_settings)
    assert index == weeks == {LLM: [d["week"] for d in docs]}
    await apply(store, [event("x", T0 + timedelta(weeks=61))])
    index, weeks = stored(mongo_settings)
    assert index == weeks
    assert len(index[LLM]) == 21


async def test_a_batch_reads_the_weekly_history_by_index_from_the_week_before_it(
    store: MongoBatchStore, mongo_settings: MongoSettings, finds: WeeklyFinds
) -> None:
    await store.ensure_indexes()
    # Two years of weekly history for two roles, through the consumer (a batch per week).
    for i in range(104):
        at = T0 + timedelta(weeks=i)
        await apply(store, [event(f"l{i}", at), event(f"p{i}", at, "AI Product Manager")])
    finds.filters.clear()
    latest = T0 + timedelta(weeks=104)  # a new week for both roles
    await apply(store, [event("new-l", latest), event("new-p", latest, "AI Product Manager")])
    assert len(finds.filters) == 2  # one range per role; no `$in`
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_settings.uri)
    try:
        for query in finds.filters:
            assert isinstance(query["role"], str)
            stats = client[mongo_settings.database].role_weekly.find(query).explain()
            assert stats["queryPlanner"]["winningPlan"]["inputStage"]["stage"] == "IXSCAN"
            # The week before (the base of the new one) and the new one, now written.
            assert stats["executionStats"]["totalDocsExamined"] == 2
    finally:
        client.close()
    index, weeks = stored(mongo_settings)
    assert index == weeks
    assert all(len(w) == 105 for w in weeks.values())
