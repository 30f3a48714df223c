"""The consume loop driven one poll at a time, on the real broker and database.

`Direct.deliver(raws)` publishes messages to a one-partition topic, fetches them back as one
poll and runs `PostingsConsumer.process` on it: the loop's own code, with a real store, a real
dead-letter producer and a real consumer (manually assigned, so no group join to wait for).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rolepulse.consumers.dead_letters import DeadLetters
from rolepulse.consumers.decode import PostingNormalizer
from rolepulse.consumers.runner import PostingsConsumer
from rolepulse.consumers.store import MongoBatchStore
from rolepulse.consumers.topics import ensure_topics
from rolepulse.settings import KafkaSettings, MongoSettings

Doc = dict[str, Any]
MAX_BYTES = 4 * 1024 * 1024  # as consumers/main.py


@dataclass
class Direct:
    kafka: KafkaSettings
    db: AsyncDatabase[Doc]
    runner: PostingsConsumer
    producer: Any  # AIOKafkaProducer
    consumer: Any  # AIOKafkaConsumer

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.kafka.topic, 0)

    async def deliver(self, raws: Sequence[bytes | None]) -> list[int]:
        """Publish `raws`, process them as one poll; their offsets."""
        acks = [await self.producer.send(self.kafka.topic, raw, partition=0) for raw in raws]
        offsets = [(await ack).offset for ack in acks]
        records: list[Any] = []
        async with asyncio.timeout(30):
            while len(records) < len(raws):
                got = await self.consumer.getmany(self.tp, timeout_ms=200)
                records += got.get(self.tp, [])
        await self.runner.process({self.tp: records}, asyncio.Event())
        return offsets

    async def stored_offset(self) -> int:
        doc = await self.db.consumer_offsets.find_one({"topic": self.kafka.topic, "partition": 0})
        return 0 if doc is None else int(doc["next_offset"])

    async def dead_letters(self, count: int) -> list[Any]:
        """The first `count` messages of the dead-letter topic."""
        reader = AIOKafkaConsumer(
            self.kafka.dlq_topic,
            bootstrap_servers=self.kafka.bootstrap_servers,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=MAX_BYTES,
        )
        await reader.start()
        out: list[Any] = []
        try:
            async with asyncio.timeout(30):
                while len(out) < count:
                    for msgs in (await reader.getmany(timeout_ms=200)).values():
                        out += msgs
        finally:
            await reader.stop()
        return out


DirectFactory = Callable[
    [KafkaSettings, MongoSettings, PostingNormalizer], AbstractAsyncContextManager[Direct]
]


@asynccontextmanager
async def open_direct(
    kafka: KafkaSettings, mongo: MongoSettings, normalizer: PostingNormalizer
) -> AsyncIterator[Direct]:
    kafka = kafka.model_copy(update={"partitions": 1})
    await ensure_topics(kafka)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo.uri, tz_aware=True)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers, acks="all", max_request_size=MAX_BYTES
    )
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=kafka.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=MAX_BYTES,
    )
    await producer.start()
    await consumer.start()
    try:
        consumer.assign([TopicPartition(kafka.topic, 0)])
        store = MongoBatchStore(client, mongo.database)
        await store.ensure_indexes()
        runner = PostingsConsumer(
            consumer, store, DeadLetters(producer, kafka.dlq_topic), normalizer,
            max_batch=10_000, poll_timeout_ms=200, max_backoff_s=0.5,
        )  # fmt: skip
        yield Direct(kafka, client[mongo.database], runner, producer, consumer)
    finally:
        await consumer.stop()
        await producer.stop()
        await client.close()


@pytest.fixture
def direct_factory() -> DirectFactory:
    """`async with direct_factory(kafka, mongo, normalizer) as d:` a loop driven poll by poll."""
    return open_direct
