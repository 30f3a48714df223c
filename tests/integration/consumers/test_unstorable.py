"""A message that fails only when written is found by splitting its batch, and only it is lost.

decode now refuses every unstorable value it knows of, so the culprit here is made past it: a
normalizer (the port decode calls) that turns one event into a posting with a 10^30 salary,
which the BSON encoder refuses inside the store's transaction, as 1e30 salaries did before.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition

from rolepulse.consumers.verify import aggregate_differences
from rolepulse.domain.model import NormalizedPosting, NormalizedSalary
from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.settings import KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from tests.integration.consumers.conftest import DirectFactory

HUGE = 10**30


class UnstorableFor:
    """The real normalizer, except that event `poison` gets a salary no database stores."""

    def __init__(self, poison: str) -> None:
        self._poison = poison
        self._real = Normalizer(load_taxonomy())

    def normalize(self, event: PostingEventV1) -> NormalizedPosting:
        posting = self._real.normalize(event)
        if event.event_id != self._poison:
            return posting
        salary = NormalizedSalary(1e30, 1e30, "USD", "year", HUGE, HUGE, "structured")
        return replace(posting, salary=salary, flags=("salary_implausible",))

    def cluster_key(self, posting: NormalizedPosting) -> str | None:
        return self._real.cluster_key(posting)


def observed(i: int) -> bytes:
    body: dict[str, Any] = {
        "version": 1,
        "event_id": f"e{i}",
        "event_type": "posting.observed",
        "occurred_at": f"2026-11-20T10:{i:02d}:00Z",
        "source": "greenhouse",
        "posting": {
            "source_id": str(i),
            "title": ["LLM Engineer", "Data Scientist", "MLOps Engineer"][i % 3],
            "company": f"Company {i}",
            "location": "New York, NY",
            "salary": {"min": 150_000 + i, "max": 200_000, "currency": "USD"},
        },
    }
    return json.dumps(body).encode()


async def test_a_store_failure_of_one_message_is_isolated_by_splitting_the_batch(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, direct_factory: DirectFactory
) -> None:
    raws = [observed(i) for i in range(9)]
    async with direct_factory(kafka_settings, mongo_settings, UnstorableFor("e4")) as d:
        offsets = await d.deliver(raws)  # one poll, one batch
        committed = await d.consumer.committed(TopicPartition(d.kafka.topic, 0))
        [dead] = await d.dead_letters(1)
        stats = d.runner.stats
        db = d.db

        assert await d.stored_offset() == offsets[-1] + 1
        assert committed == offsets[-1] + 1  # Kafka moved once everything was applied
        headers = dict(dead.headers)
        assert headers["reason"].decode().startswith("unstorable: OverflowError: ")
        assert (dead.value, headers["source_offset"]) == (raws[4], str(offsets[4]).encode())
        [reject] = [r async for r in db.rejects.find({})]
        assert reject["reason"].startswith("unstorable: OverflowError: ")
        assert (reject["offset"], reject["raw"]) == (offsets[4], raws[4])
        stored = {doc["_id"] async for doc in db.postings.find({}, {"_id": 1})}
        assert stored == {f"greenhouse:{i}" for i in range(9) if i != 4}
        assert (stats.applied, stats.rejected_by_reason) == (8, {"unstorable": 1})
        assert await aggregate_differences(db) == []
