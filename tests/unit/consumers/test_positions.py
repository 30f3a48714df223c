"""The position guard over a fake group consumer (the real broker case: the fault tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import ConsumerRebalanceListener, TopicPartition

from rolepulse.consumers.positions import PositionGuard

P0, P1 = TopicPartition("postings", 0), TopicPartition("postings", 1)


@dataclass(frozen=True)
class Record:  # the field of aiokafka's ConsumerRecord the guard reads
    offset: int


def records(tp: TopicPartition, first: int, end: int) -> dict[TopicPartition, list[Any]]:
    return {tp: [Record(o) for o in range(first, end)]}


@dataclass
class FakeConsumer:
    """Positions and log ends per partition; polls to hand out; commits as sent."""

    positions: dict[TopicPartition, int] = field(default_factory=dict)
    ends: dict[TopicPartition, int | None] = field(default_factory=dict)
    polls: list[dict[TopicPartition, list[Any]]] = field(default_factory=list)
    committed: list[dict[TopicPartition, int]] = field(default_factory=list)
    commit_gate: asyncio.Event | None = None  # a commit waits on it (a coordinator lookup)
    rewound: list[TopicPartition] = field(default_factory=list)

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]:
        return self.polls.pop(0) if self.polls else {}

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.commit_gate is not None:
            await self.commit_gate.wait()
        self.committed.append(dict(offsets))

    def assignment(self) -> AbstractSet[TopicPartition]:
        return frozenset(self.positions)

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.ends.get(partition)

    async def position(self, partition: TopicPartition) -> int:
        return self.positions[partition]

    async def seek_to_beginning(self, *partitions: TopicPartition) -> bool:
        self.rewound.extend(partitions)
        for tp in partitions:
            self.positions[tp] = 0
        return True


class Recorder(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[TopicPartition]]] = []

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self.calls.append(("revoked", list(revoked)))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        self.calls.append(("assigned", list(assigned)))


def guarded(fake: FakeConsumer) -> tuple[PositionGuard, ConsumerRebalanceListener]:
    guard = PositionGuard(fake, wait_s=0.1)
    return guard, guard.listener(Recorder())


async def test_a_batch_is_committed_when_nothing_was_revoked() -> None:
    fake = FakeConsumer(positions={P0: 0}, polls=[records(P0, 0, 2)])
    guard, _ = guarded(fake)
    assert await guard.getmany(timeout_ms=10) == records(P0, 0, 2)
    await guard.commit({P0: 2})
    assert fake.committed == [{P0: 2}]


async def test_a_batch_fetched_before_a_revocation_is_not_committed() -> None:
    # The broker restarted: the batch came from positions of the old log, and the commit would
    # go out under the member id of the new membership.
    fake = FakeConsumer(positions={P0: 50}, polls=[records(P0, 50, 60)])
    guard, listener = guarded(fake)
    await guard.getmany(timeout_ms=10)
    await listener.on_partitions_revoked([P0])
    await guard.commit({P0: 60})
    assert fake.committed == []


async def test_with_a_poll_ahead_each_commit_is_judged_by_its_own_poll() -> None:
    # The consume loop fetches the next batch while it writes the current one.
    fake = FakeConsumer(positions={P0: 50}, polls=[records(P0, 50, 60), records(P0, 0, 30)])
    guard, listener = guarded(fake)
    await guard.getmany(timeout_ms=10)  # batch A, from the old positions
    await listener.on_partitions_revoked([P0])
    await listener.on_partitions_assigned([P0])
    await guard.getmany(timeout_ms=10)  # batch B, fetched ahead under the new membership
    await guard.commit({P0: 60})
    await guard.commit({P0: 30})
    assert fake.committed == [{P0: 30}]


async def test_a_batch_fetched_ahead_before_a_revocation_is_not_committed_either() -> None:
    fake = FakeConsumer(positions={P0: 0}, polls=[records(P0, 0, 10), records(P0, 10, 20)])
    guard, listener = guarded(fake)
    await guard.getmany(timeout_ms=10)
    await guard.getmany(timeout_ms=10)
    await listener.on_partitions_revoked([P0])
    await guard.commit({P0: 10})
    await guard.commit({P0: 20})
    assert fake.committed == []


async def test_a_poll_that_was_never_committed_is_passed_over() -> None:
    polls = [records(P0, 0, 10) | records(P1, 0, 5), records(P0, 10, 20)]
    fake = FakeConsumer(positions={P0: 0, P1: 0}, polls=polls)
    guard, _ = guarded(fake)
    await guard.getmany(timeout_ms=10)  # e.g. dropped by the loop: its partitions moved
    await guard.getmany(timeout_ms=10)
    await guard.commit({P0: 20})
    assert fake.committed == [{P0: 20}]


async def test_offsets_of_a_subset_of_a_polls_partitions_match_it() -> None:
    fake = FakeConsumer(positions={P0: 0, P1: 0}, polls=[records(P0, 0, 10) | records(P1, 0, 5)])
    guard, listener = guarded(fake)
    await guard.getmany(timeout_ms=10)
    await listener.on_partitions_revoked([P1])
    await guard.commit({P0: 10})  # the loop left P1 to its new owner
    assert fake.committed == []


async def test_a_commit_waiting_to_be_sent_is_cancelled_by_a_revocation() -> None:
    gate = asyncio.Event()
    fake = FakeConsumer(positions={P0: 50}, polls=[records(P0, 50, 60)], commit_gate=gate)
    guard, listener = guarded(fake)
    await guard.getmany(timeout_ms=10)
    commit = asyncio.create_task(guard.commit({P0: 60}))
    await asyncio.sleep(0)  # the commit waits, e.g. for the coordinator of the restarted broker
    await listener.on_partitions_revoked([P0])
    gate.set()
    await commit  # returns: the batch stays applied, its offsets uncommitted
    assert fake.committed == []


async def test_cancelling_the_caller_still_cancels_it() -> None:
    gate = asyncio.Event()
    fake = FakeConsumer(positions={P0: 0}, polls=[records(P0, 0, 1)], commit_gate=gate)
    guard, _ = guarded(fake)
    await guard.getmany(timeout_ms=10)
    commit = asyncio.create_task(guard.commit({P0: 1}))
    await asyncio.sleep(0)
    commit.cancel()
    with pytest.raises(asyncio.CancelledError):
        await commit


async def test_offsets_of_no_poll_are_committed_as_asked() -> None:
    fake = FakeConsumer(positions={P0: 0})
    guard, listener = guarded(fake)
    await listener.on_partitions_revoked([P0])
    await guard.commit({P0: 7})
    assert fake.committed == [{P0: 7}]


async def test_the_listener_passes_rebalances_on() -> None:
    inner = Recorder()
    listener = PositionGuard(FakeConsumer()).listener(inner)
    await listener.on_partitions_revoked([P0])
    await listener.on_partitions_assigned([P1])
    assert inner.calls == [("revoked", [P0]), ("assigned", [P1])]


@pytest.mark.parametrize(
    ("position", "end", "rewound"),
    [
        (50, 10, [P0]),  # the log restarted shorter: Tansu returns nothing and no error
        (50, 0, [P0]),  # ... or empty
        (10, 10, []),  # caught up
        (3, 10, []),  # behind
        (50, None, []),  # not fetched yet: nothing known
    ],
)
async def test_a_position_past_the_end_of_the_log_is_rewound(
    position: int, end: int | None, rewound: list[TopicPartition]
) -> None:
    fake = FakeConsumer(positions={P0: position, P1: 4}, ends={P0: end, P1: 4})
    guard, _ = guarded(fake)
    assert await guard.getmany(timeout_ms=10) == {}
    assert fake.rewound == rewound


async def test_other_attributes_are_the_consumers() -> None:
    fake = FakeConsumer(positions={P0: 3}, ends={P0: 7})
    guard = PositionGuard(fake)
    assert guard.highwater(P0) == 7
    assert guard.assignment() == {P0}
