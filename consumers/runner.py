"""The consume loop: poll a batch, dead-letter the bad, apply the rest atomically, commit offsets.

Order per batch, and why:
1. decode + normalize every message (pure);
2. publish rejects to the dead-letter topic and wait for the acks — before anything is committed,
   so a crash can repeat a dead letter but never lose one;
3. one MongoDB transaction: postings, aggregate increments, applied event ids, next offsets;
4. commit the Kafka offsets (last + 1 per partition). A crash between 3 and 4 redelivers the
   batch, whose event ids the database then recognises as applied.
A database outage pauses the loop on the same batch with backoff; nothing is committed meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pymongo.errors import ConnectionFailure, OperationFailure

from consumers.dead_letters import DeadLetters
from consumers.decode import PostingNormalizer, Rejected, decode
from consumers.faults import NO_FAULTS, Faults
from consumers.metrics import ConsumerMetrics
from consumers.store import BatchResult, Delivered, MongoBatchStore

log = logging.getLogger("rolepulse.consumer")


class BatchAbandonedError(Exception):
    """Stop was requested while a batch could not be written; nothing of it was committed."""


@dataclass
class ConsumerStats:
    batches: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    last_batch_seconds: float = 0.0


class LogRebalances(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partition moves, for the operator; correctness needs nothing from this hook.

    Batches run to completion inside the poll loop before the next getmany, so nothing is in
    flight at a revocation. A newly assigned partition resumes from the group's committed Kafka
    offset, which trails the database by at most one batch; that batch's events are recognised
    by their ids. (Seeking to the database's offsets instead would skip a recreated topic's new
    messages, whose offsets start again at 0.)
    """

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted(str(tp) for tp in revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted(str(tp) for tp in assigned))


class PostingsConsumer:
    def __init__(
        self,
        consumer: Any,
        store: MongoBatchStore,
        dead_letters: DeadLetters,
        normalizer: PostingNormalizer,
        *,
        max_batch: int,
        poll_timeout_ms: int,
        max_backoff_s: float = 5.0,
        metrics: ConsumerMetrics | None = None,
        faults: Faults = NO_FAULTS,
    ) -> None:
        self._consumer = consumer  # aiokafka.AIOKafkaConsumer, subscribed by the caller
        self._store = store
        self._dead_letters = dead_letters
        self._normalizer = normalizer
        self._max_batch = max_batch
        self._poll_timeout_ms = poll_timeout_ms
        self._max_backoff_s = max_backoff_s
        self.stats = ConsumerStats()
        self.metrics = metrics or ConsumerMetrics()
        self._faults = faults

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in flight when it is set completes first.

        A batch stalled by an outage when `stop` is set is abandoned uncommitted: it is
        redelivered to whoever owns the partition next, and the offset check makes that safe.
        """
        while not stop.is_set():
            records = await self._consumer.getmany(
                timeout_ms=self._poll_timeout_ms, max_records=self._max_batch
            )
            if records:
                try:
                    await self.process(records, stop)
                except BatchAbandonedError:
                    log.warning("stopping with a stalled batch uncommitted; it will be redelivered")
                    return

    async def process(
        self, records: Mapping[TopicPartition, Sequence[Any]], stop: asyncio.Event
    ) -> None:
        started = time.perf_counter()
        self._faults.batch_started()
        batch, rejected = self._decode(records)
        self._faults.reached("decoded")
        await self._with_retry(lambda: self._dead_letters.publish(rejected), stop)
        self._faults.reached("dead_lettered")
        result = await self._with_retry(lambda: self._store.apply(batch), stop)
        self._faults.reached("db_committed")
        await self._commit(result)
        self._faults.reached("kafka_committed")
        self._record(result, batch, time.perf_counter() - started)

    def _decode(
        self, records: Mapping[TopicPartition, Sequence[Any]]
    ) -> tuple[list[Delivered], list[tuple[Delivered, bytes | None]]]:
        batch: list[Delivered] = []
        rejected: list[tuple[Delivered, bytes | None]] = []
        for tp, messages in records.items():
            for msg in messages:
                outcome = decode(msg.value, self._normalizer)
                if isinstance(outcome, Rejected):
                    d = Delivered(
                        tp.topic, tp.partition, msg.offset, None, outcome.reason, msg.value
                    )
                    rejected.append((d, msg.key))
                else:
                    d = Delivered(tp.topic, tp.partition, msg.offset, outcome)
                batch.append(d)
        return batch, rejected

    async def _with_retry(self, action: Any, stop: asyncio.Event) -> Any:
        delay = 0.2
        while True:
            try:
                return await action()
            except (ConnectionFailure, KafkaError) as exc:
                # An outage: keep the batch, commit nothing, try again with capped backoff.
                log.warning(
                    "batch stalled (%s: %s); retrying in %.1fs", type(exc).__name__, exc, delay
                )
            except OperationFailure as exc:
                if not exc.has_error_label("TransientTransactionError"):
                    raise
                log.warning("transient transaction error: %s; retrying", exc)
            if stop.is_set():
                raise BatchAbandonedError
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, self._max_backoff_s)

    async def _commit(self, result: BatchResult) -> None:
        offsets = {TopicPartition(t, p): o for (t, p), o in result.next_offsets.items()}
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, KafkaError) as exc:
            # Safe to carry on: the database holds the authoritative offsets and the next owner
            # of these partitions seeks to them.
            log.warning("kafka offset commit failed (%s); database offsets stand", exc)

    def _record(self, result: BatchResult, batch: Sequence[Delivered], seconds: float) -> None:
        s = self.stats
        s.batches += 1
        s.applied += result.applied
        s.duplicates += result.duplicates
        s.last_batch_seconds = seconds
        reasons = [m.reject_reason.split(":", 1)[0] for m in batch if m.reject_reason is not None]
        for reason in reasons:
            s.rejected_by_reason[reason] = s.rejected_by_reason.get(reason, 0) + 1
        self.metrics.record_batch(result, reasons, seconds)
        # highwater() is the only end offset Tansu reports correctly (DESIGN.md).
        highwaters = {
            (tp.topic, tp.partition): self._consumer.highwater(tp)
            for tp in self._consumer.assignment()
        }
        self.metrics.record_lag(highwaters, result.next_offsets)
        log.info(
            "batch: %d messages, %d applied, %d duplicates, %d rejected, %.3fs",
            len(batch),
            result.applied,
            result.duplicates,
            result.rejected,
            seconds,
        )
