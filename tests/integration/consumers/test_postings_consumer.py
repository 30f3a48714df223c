"""The consumer against real Tansu + SecantusDB: apply, dedupe, dead-letter, replay safely."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from rolepulse.catchup import wait_consumed
from rolepulse.consumers.decode import Rejected, decode
from rolepulse.consumers.main import run_consumer
from rolepulse.consumers.store import Delivered, MongoBatchStore
from rolepulse.consumers.verify import aggregate_differences
from rolepulse.domain.normalize import Normalizer
from rolepulse.settings import ConsumerSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

Doc = dict[str, Any]
ConsumeAll = Callable[..., Awaitable[dict[int, int]]]


def event(eid: str, sid: str, title: str | None = "Senior LLM Engineer", **over: Any) -> bytes:
    body: Doc = {
        "version": 1,
        "event_id": eid,
        "event_type": "posting.observed",
        "occurred_at": "2026-11-01T10:00:00Z",
        "source": "greenhouse",
        "posting": {
            "source_id": sid,
            "title": title,
            "company": "Google LLC",
            "location": "New York, NY",
            "description": "Build RAG systems in Python on AWS.",
            "salary": {"min": 150000, "max": 210000, "currency": "USD", "period": "year"},
        },
    }
    body.update(over)
    return json.dumps(body).encode()


def closed(eid: str, sid: str) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "event_id": eid,
            "event_type": "posting.closed",
            "occurred_at": "2026-11-02T10:00:00Z",
            "source": "greenhouse",
            "posting": {"source_id": sid},
        }
    ).encode()


@pytest.fixture
async def db(mongo_settings: MongoSettings) -> AsyncIterator[Any]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_settings.uri)
    yield client[mongo_settings.database]
    await client.close()


async def test_postings_reach_aggregates_once(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, db: Any, consume_all: ConsumeAll
) -> None:
    lines = [
        event("e1", "1"),
        event("e1", "1"),  # the same event delivered twice
        event("e2", "2", title="AI Product Manager"),
        event("e3", "3"),
        closed("e4", "3"),
        event("e5", "4", title="Vice President, Retail Sales"),  # not an AI role
    ]
    await consume_all(kafka_settings, mongo_settings, lines)

    llm = await db.role_aggregates.find_one({"_id": "llm-engineer"})
    assert llm["open"] == 1
    assert llm["salary"]["n"] == 1
    assert llm["companies"] == {"Google": 1}
    market = await db.market_aggregates.find_one({"_id": "market"})
    assert (market["open_ai"], market["open_total"], market["seen"]) == (2, 3, 4)
    assert await db.postings.count_documents({}) == 4
    assert await aggregate_differences(db) == []


async def test_invalid_events_go_to_dead_letters_with_reason(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, db: Any, consume_all: ConsumeAll
) -> None:
    bad = [b"{not json", event("v9", "9", version=9), event("m1", "10", title=None)]
    await consume_all(kafka_settings, mongo_settings, [*bad, event("ok", "11")])

    reasons = sorted([r["reason"].split(":")[0] async for r in db.rejects.find({})])
    assert reasons == ["invalid_event", "invalid_json", "unsupported_version"]
    dlq = await read_topic(kafka_settings, kafka_settings.dlq_topic, 3)
    assert sorted(m.value for m in dlq) == sorted(bad)
    headers = [dict(m.headers) for m in dlq]
    assert all(h["reason"] and h["source_topic"] == kafka_settings.topic.encode() for h in headers)
    assert (await db.role_aggregates.find_one({"_id": "llm-engineer"}))["open"] == 1


async def test_replay_from_the_beginning_changes_nothing(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, db: Any, consume_all: ConsumeAll
) -> None:
    lines = [event(f"e{i}", str(i)) for i in range(120)]
    ends = await consume_all(kafka_settings, mongo_settings, lines)
    before = await db.role_aggregates.find_one({"_id": "llm-engineer"})

    # A new group has no Kafka offsets, as after a crash between the database commit and the
    # Kafka commit. One fresh event per partition, published after the old ones, is applied only
    # once the group has gone past everything before it.
    replay = kafka_settings.model_copy(update={"group_id": kafka_settings.group_id + ".replay"})
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumer(replay, mongo_settings, ConsumerSettings(), stop))
    try:
        fresh_ends = await publish_one_per_partition(replay, ends)
        await wait_consumed(mongo_settings, replay.topic, fresh_ends, timeout_s=60)
    finally:
        stop.set()
        runner = await asyncio.wait_for(task, timeout=30)

    assert runner.stats.applied == len(ends)
    after = await db.role_aggregates.find_one({"_id": "llm-engineer"})
    assert after["open"] == before["open"] + len(ends)
    assert await aggregate_differences(db) == []


async def test_a_batch_applied_twice_counts_once(mongo_settings: MongoSettings, db: Any) -> None:
    normalizer = Normalizer(load_taxonomy())
    raws = [event("a", "1"), event("b", "2"), b"not json"]
    batch = [delivered(offset, raw, normalizer) for offset, raw in enumerate(raws)]
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_settings.uri, tz_aware=True)
    store = MongoBatchStore(client, mongo_settings.database)
    try:
        first = await store.apply(batch)
        second = await store.apply(batch)
    finally:
        await client.close()

    assert (first.applied, first.duplicates, first.rejected) == (2, 0, 1)
    # Redelivered: the event ids are recognised, the reject's record is replaced, not added.
    assert (second.applied, second.duplicates, second.rejected) == (0, 2, 1)
    assert (await db.role_aggregates.find_one({"_id": "llm-engineer"}))["open"] == 2
    assert await db.rejects.count_documents({}) == 1
    assert await aggregate_differences(db) == []


def delivered(offset: int, raw: bytes, normalizer: Normalizer) -> Delivered:
    outcome = decode(raw, normalizer)
    if isinstance(outcome, Rejected):
        return Delivered("postings", 0, offset, None, outcome.reason, raw)
    return Delivered("postings", 0, offset, outcome)


async def publish_one_per_partition(kafka: KafkaSettings, ends: dict[int, int]) -> dict[int, int]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
    await producer.start()
    try:
        out = {}
        for partition in ends:
            raw = event(f"fresh-{partition}", f"fresh-{partition}")
            meta = await producer.send_and_wait(kafka.topic, raw, partition=partition)
            out[partition] = meta.offset + 1
        return out
    finally:
        await producer.stop()


async def read_topic(kafka: KafkaSettings, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    out: list[Any] = []
    try:
        async with asyncio.timeout(30):
            while len(out) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for msgs in batch.values():
                    out.extend(msgs)
    finally:
        await consumer.stop()
    return out
