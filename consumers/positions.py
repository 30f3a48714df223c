"""Offsets that stay with the log they came from, when a broker loses its log.

The local Tansu keeps topics in memory, so a restarted broker comes back empty while the consumer
still holds positions into the old log. Two things then went wrong (issue 7, the broker-restart
fault test: the consumer rejoined and never fetched the new log's first messages):

1. A batch fetched before a rebalance was committed after it. aiokafka stamps a commit with the
   member id it holds when the request is sent, not with the one the records were fetched under;
   a commit sent during the rejoin carries the new member id, the broker accepts it, and the new
   assignment resumes at offsets reached from the old log's positions, skipping every message of
   the new log below them.
   So the commit of a batch fetched before the latest revocation is dropped, and one still
   waiting to be sent when the partitions are revoked is cancelled (a request already sent
   carries the old member id, which the broker judges). Dropping is safe: the batch is in the
   database, and whoever fetches it again finds its event ids applied. A commit is matched to
   its poll by offsets (the consume loop commits each poll's next offsets, and polls one batch
   ahead, so "the last poll" is not the batch being committed).
2. A position past the end of the log. Kafka answers such a fetch with OFFSET_OUT_OF_RANGE and
   aiokafka resets to `auto_offset_reset`; Tansu answers with no records and no error, so the
   partition fetched nothing until the new log grew past the old offset. Such a partition is
   rewound to its beginning, as Kafka's reset to earliest would; replays are safe by event id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError

log = logging.getLogger("rolepulse.consumer")
_POLLS_KEPT = 64  # polls awaiting their commit; the consume loop has at most two in flight


class GroupConsumer(Protocol):
    """What the guard uses of aiokafka's AIOKafkaConsumer."""

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]: ...

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None: ...

    def assignment(self) -> AbstractSet[TopicPartition]: ...

    def highwater(self, partition: TopicPartition) -> int | None: ...

    async def position(self, partition: TopicPartition) -> int: ...

    async def seek_to_beginning(self, *partitions: TopicPartition) -> bool: ...


class PositionGuard:
    """The group consumer as the consume loop sees it, with the two guards above.

    Subscribe with `listener=guard.listener(...)` so the guard learns of revocations; every other
    attribute is the wrapped consumer's.
    """

    def __init__(self, consumer: GroupConsumer, *, wait_s: float = 1.0) -> None:
        self._consumer = consumer
        self._wait_s = wait_s  # bound on a position lookup or a rewind inside one poll
        self._revocations = 0
        # Per poll that returned records, oldest first: revocations seen by then, next offsets.
        self._polls: deque[tuple[int, dict[TopicPartition, int]]] = deque(maxlen=_POLLS_KEPT)
        self._commit: asyncio.Task[None] | None = None

    def listener(self, inner: ConsumerRebalanceListener) -> ConsumerRebalanceListener:
        """A listener that tells the guard of revocations, then calls `inner`."""
        return _Revocations(self, inner)

    def revoked(self) -> None:
        # Called inside aiokafka's rebalance, before it sends JoinGroup: a commit cancelled here
        # never goes out under the member id that JoinGroup brings back.
        self._revocations += 1
        if self._commit is not None:
            self._commit.cancel()

    async def getmany(
        self, *partitions: TopicPartition, timeout_ms: int = 0, max_records: int | None = None
    ) -> dict[TopicPartition, list[Any]]:
        records = await self._consumer.getmany(
            *partitions, timeout_ms=timeout_ms, max_records=max_records
        )
        if records:
            ends = {tp: msgs[-1].offset + 1 for tp, msgs in records.items() if msgs}
            self._polls.append((self._revocations, ends))
        await self._rewind_past_end()
        return records

    async def commit(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit a poll's next offsets, unless its partitions were revoked since it returned."""
        fetched_at = self._revocations_at_poll(offsets)
        if fetched_at is not None and fetched_at != self._revocations:
            _log_dropped(offsets)
            return
        self._commit = asyncio.create_task(self._consumer.commit(offsets))
        try:
            await self._commit
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller is being cancelled, not only the commit
            _log_dropped(offsets)
        finally:
            self._commit = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._consumer, name)

    def _revocations_at_poll(self, offsets: Mapping[TopicPartition, int]) -> int | None:
        """Revocations seen when the poll these offsets end was returned; None: no such poll.

        Polls before the matching one were never committed (their partitions were revoked, or
        the batch failed): commits come in poll order, so no later commit refers to them.
        """
        if not offsets:
            return None
        for i, (seen, ends) in enumerate(self._polls):
            if all(ends.get(tp) == offset for tp, offset in offsets.items()):
                for _ in range(i + 1):
                    self._polls.popleft()
                return seen
        return None  # offsets of no poll of ours: committed as asked

    async def _rewind_past_end(self) -> None:
        # highwater() is the log end of the last fetch response (DESIGN.md: Tansu reports it
        # right); in a log that was not lost, the position never passes it.
        ends = {tp: self._consumer.highwater(tp) for tp in self._consumer.assignment()}
        past_end: list[tuple[TopicPartition, int, int]] = []
        for tp, end in ends.items():
            if end is None:  # not fetched yet
                continue
            try:
                async with asyncio.timeout(self._wait_s):  # a position waiting for a reset
                    position = await self._consumer.position(tp)
            except (TimeoutError, IllegalStateError):  # reset pending, or revoked meanwhile
                continue
            if position > end:
                past_end.append((tp, position, end))
        if not past_end:
            return
        log.warning(
            "position past the end of the log (the broker lost it?); rewinding to the beginning",
            extra={
                "partitions": [f"{tp.partition}: {pos} > end {end}" for tp, pos, end in past_end]
            },
        )
        try:
            async with asyncio.timeout(self._wait_s):  # the reset itself carries on regardless
                await self._consumer.seek_to_beginning(*(tp for tp, _, _ in past_end))
        except (TimeoutError, IllegalStateError):
            pass


class _Revocations(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, guard: PositionGuard, inner: ConsumerRebalanceListener) -> None:
        self._guard = guard
        self._inner = inner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        self._guard.revoked()
        await self._inner.on_partitions_revoked(revoked)

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        await self._inner.on_partitions_assigned(assigned)


def _log_dropped(offsets: Mapping[TopicPartition, int]) -> None:
    log.warning(
        "not committing a batch fetched before its partitions were revoked; "
        "its events are applied and are recognised by id when fetched again",
        extra={"offsets": {f"{tp.topic}:{tp.partition}": o for tp, o in offsets.items()}},
    )
