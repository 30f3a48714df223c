"""The consume loop's batch splitting, over fakes of its ports (the real ones: integration)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from pymongo.errors import AutoReconnect

from rolepulse.consumers.runner import Keyed, PostingsConsumer
from rolepulse.consumers.store import BatchResult, Delivered
from rolepulse.domain.normalize import Normalizer
from rolepulse.taxonomy import load_taxonomy

TP = TopicPartition("postings", 0)
NOW = datetime(2026, 11, 25, tzinfo=UTC)


@dataclass
class Message:  # the fields of aiokafka's ConsumerRecord the loop reads
    offset: int
    value: bytes | None
    key: bytes | None = None
    timestamp: int = int(NOW.timestamp() * 1000)


@dataclass
class FakeStore:
    """Applies batches atomically; a batch holding a `poisoned` event id fails as BSON would."""

    poisoned: set[str]
    outages: int = 0  # the next N applies fail as if the database were unreachable
    applied: list[list[int]] = field(default_factory=list)  # offsets of each committed batch
    rejects: list[Delivered] = field(default_factory=list)

    async def apply(self, batch: Sequence[Delivered]) -> BatchResult:
        if self.outages:
            self.outages -= 1
            raise AutoReconnect("connection refused")
        if any(m.transition and m.transition.event_id in self.poisoned for m in batch):
            raise OverflowError("MongoDB can only handle up to 8-byte ints")
        self.applied.append([m.offset for m in batch])
        self.rejects += [m for m in batch if m.transition is None]
        return BatchResult(
            applied=sum(m.transition is not None for m in batch),
            duplicates=0,
            rejected=sum(m.transition is None for m in batch),
            next_offsets={(TP.topic, TP.partition): max(m.offset for m in batch) + 1},
        )


@dataclass
class FakeDeadLetters:
    sent: list[Delivered] = field(default_factory=list)

    async def publish(self, rejected: Sequence[Keyed]) -> None:
        self.sent += [m for m, _ in rejected]


@dataclass
class FakeConsumer:
    commits: list[dict[TopicPartition, int]] = field(default_factory=list)

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def highwater(self, tp: TopicPartition) -> int:
        return 0


def observed(eid: str) -> bytes:
    body: dict[str, Any] = {
        "version": 1,
        "event_id": eid,
        "event_type": "posting.observed",
        "occurred_at": "2026-11-20T10:00:00Z",
        "source": "greenhouse",
        "posting": {"source_id": eid, "title": "LLM Engineer", "company": "Acme"},
    }
    return json.dumps(body).encode()


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(load_taxonomy())


def loop(store: FakeStore, dlq: FakeDeadLetters, normalizer: Normalizer) -> PostingsConsumer:
    return PostingsConsumer(
        FakeConsumer(), store, dlq, normalizer, max_batch=100, poll_timeout_ms=10,
        max_backoff_s=0.01, clock=lambda: NOW,
    )  # fmt: skip


async def test_the_message_that_fails_alone_is_dead_lettered_and_the_rest_applies(
    normalizer: Normalizer,
) -> None:
    values = [observed(f"e{i}") for i in range(10)]
    values[4] = b"not json"
    store, dlq = FakeStore(poisoned={"e6"}), FakeDeadLetters()
    runner = loop(store, dlq, normalizer)
    messages = [Message(i, v) for i, v in enumerate(values)]
    await runner.process({TP: messages}, asyncio.Event())

    assert [m.offset for m in dlq.sent] == [4, 6]
    culprit = dlq.sent[1]
    assert culprit.reject_reason is not None
    assert culprit.reject_reason.startswith("unstorable: OverflowError: MongoDB can only")
    assert culprit.raw == values[6]
    # Every offset applied exactly once, in order, each part with its own offsets.
    assert sorted(o for part in store.applied for o in part) == list(range(10))
    assert [o for part in store.applied for o in part] == list(range(10))
    assert [r.offset for r in store.rejects] == [4, 6]
    # Kafka moves once, past the whole poll, after everything was applied.
    assert runner._consumer.commits == [{TP: 10}]
    assert runner.stats.applied == 8
    assert runner.stats.rejected_by_reason == {"invalid_json": 1, "unstorable": 1}


async def test_an_outage_is_retried_not_split(normalizer: Normalizer) -> None:
    store, dlq = FakeStore(poisoned=set(), outages=2), FakeDeadLetters()
    runner = loop(store, dlq, normalizer)
    await runner.process({TP: [Message(i, observed(f"e{i}")) for i in range(4)]}, asyncio.Event())
    assert store.applied == [[0, 1, 2, 3]]
    assert dlq.sent == []


async def test_a_message_that_fails_decode_unexpectedly_is_dead_lettered(
    normalizer: Normalizer,
) -> None:
    class Broken:
        def normalize(self, event: Any) -> Any:
            raise ZeroDivisionError("a normalizer bug")

        def cluster_key(self, posting: Any) -> str | None:
            return None

    store, dlq = FakeStore(poisoned=set()), FakeDeadLetters()
    runner = PostingsConsumer(
        FakeConsumer(), store, dlq, Broken(), max_batch=10, poll_timeout_ms=10, clock=lambda: NOW
    )
    await runner.process({TP: [Message(0, observed("e0"))]}, asyncio.Event())
    assert [m.reject_reason for m in dlq.sent] == [
        "decode_failed: ZeroDivisionError: a normalizer bug"
    ]
    assert store.applied == [[0]]
