"""The consume loop: poll a batch, dead-letter the bad, apply the rest atomically, commit offsets.

Order per batch, and why:
1. decode + normalize every message (pure);
2. publish rejects to the dead-letter topic and wait for the acks — before anything is committed,
   so a crash can repeat a dead letter but never lose one;
3. one MongoDB transaction: postings, aggregate increments, applied event ids, next offsets;
4. commit the Kafka offsets (last + 1 per partition). A crash between 3 and 4 redelivers the
   batch, whose event ids the database then recognises as applied.
A database outage pauses the loop on the same batch with backoff; nothing is committed meanwhile.
Any other failure of step 3 is taken to be caused by a message: the batch is split in halves,
in order, each applied as its own transaction with its offsets, down to the one message that
fails alone; that message is dead-lettered as "unstorable" and the rest applies. One message
can then never stop a partition, and none is dropped with its batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from pymongo.errors import ConnectionFailure, OperationFailure

from rolepulse.consumers.decode import (
    DEFAULT_MAX_SKEW,
    PostingNormalizer,
    Rejected,
    decode_message,
    safe_text,
)
from rolepulse.consumers.faults import NO_FAULTS, Faults
from rolepulse.consumers.metrics import ConsumerMetrics
from rolepulse.consumers.store import BatchResult, Delivered

log = logging.getLogger("rolepulse.consumer")


Keyed = tuple[Delivered, bytes | None]  # a message and its Kafka key, for the dead-letter topic


class BatchStore(Protocol):
    async def apply(self, batch: Sequence[Delivered]) -> BatchResult: ...


class DeadLetterSink(Protocol):
    async def publish(self, rejected: Sequence[Keyed]) -> None: ...


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

    A batch runs to completion inside the poll loop; the batch fetched ahead meanwhile is
    trimmed to the partitions still assigned before it runs. A newly assigned partition resumes
    from the group's committed Kafka offset, which trails the database by at most one batch;
    that batch's events are recognised by their ids. (Seeking to the database's offsets instead
    would skip a recreated topic's new messages, whose offsets start again at 0.)
    """

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        log.info("partitions revoked: %s", sorted(str(tp) for tp in revoked))

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        log.info("partitions assigned: %s", sorted(str(tp) for tp in assigned))


class PostingsConsumer:
    def __init__(
        self,
        consumer: Any,
        store: BatchStore,  # consumers.store.MongoBatchStore
        dead_letters: DeadLetterSink,  # consumers.dead_letters.DeadLetters
        normalizer: PostingNormalizer,
        *,
        max_batch: int,
        poll_timeout_ms: int,
        max_backoff_s: float = 5.0,
        metrics: ConsumerMetrics | None = None,
        faults: Faults = NO_FAULTS,
        max_event_skew: timedelta = DEFAULT_MAX_SKEW,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
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
        self._max_event_skew = max_event_skew
        self._clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until `stop` is set; the batch in flight when it is set completes first.

        A batch stalled by an outage when `stop` is set is abandoned uncommitted: it is
        redelivered to whoever owns the partition next, and the offset check makes that safe.

        The next batch is fetched and decoded while the current one is written: the database
        works in its own process, so the consumer's CPU would otherwise idle through every
        write. Kafka commits name explicit offsets, so fetching ahead never commits ahead.
        """
        ahead = asyncio.create_task(self._poll())
        try:
            while not stop.is_set():
                keyed = await ahead
                ahead = asyncio.create_task(self._poll())
                keyed = self._still_assigned(keyed)
                if not keyed:
                    continue
                try:
                    await self._process_decoded(keyed, stop)
                except BatchAbandonedError:
                    log.warning("stopping with a stalled batch uncommitted; it will be redelivered")
                    return
        finally:
            ahead.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ahead

    async def _poll(self) -> list[Keyed]:
        records = await self._consumer.getmany(
            timeout_ms=self._poll_timeout_ms, max_records=self._max_batch
        )
        return self._decode(records) if records else []

    def _still_assigned(self, keyed: list[Keyed]) -> list[Keyed]:
        # A batch fetched ahead may hold partitions revoked since: their new owner resumes from
        # the last committed offset, so they are left to it (applying them too would be safe,
        # event ids dedupe, but it is wasted work and a failed commit).
        assigned = {(tp.topic, tp.partition) for tp in self._consumer.assignment()}
        return [(m, key) for m, key in keyed if (m.topic, m.partition) in assigned]

    async def process(
        self, records: Mapping[TopicPartition, Sequence[Any]], stop: asyncio.Event
    ) -> None:
        await self._process_decoded(self._decode(records), stop)

    async def _process_decoded(self, keyed: list[Keyed], stop: asyncio.Event) -> None:
        started = time.perf_counter()
        self._faults.batch_started()
        rejected = [(m, key) for m, key in keyed if m.transition is None]
        self._faults.reached("decoded")
        await self._with_retry(lambda: self._dead_letters.publish(rejected), stop)
        self._faults.reached("dead_lettered")
        applied, results = await self._apply_isolating(keyed, stop)
        self._faults.reached("db_committed")
        # Only now, with every message of the poll applied or dead-lettered, move Kafka on.
        result = _merge(results)
        await self._commit(result)
        self._faults.reached("kafka_committed")
        self._record(result, applied, time.perf_counter() - started)

    def _decode(self, records: Mapping[TopicPartition, Sequence[Any]]) -> list[Keyed]:
        now = self._clock()
        out: list[Keyed] = []
        for tp, messages in records.items():
            for msg in messages:
                d = Delivered(tp.topic, tp.partition, msg.offset, None, None, msg.value)
                try:
                    outcome = decode_message(
                        msg.value,
                        self._normalizer,
                        broker_time=_broker_time(msg),
                        now=now,
                        max_skew=self._max_event_skew,
                    )
                except Exception as exc:
                    # decode is pure, so this message would fail the same way on every retry.
                    log.exception("decode failed at %s:%d:%d", tp.topic, tp.partition, msg.offset)
                    outcome = Rejected(f"decode_failed: {safe_text(_describe(exc))}")
                if isinstance(outcome, Rejected):
                    d = replace(d, reject_reason=outcome.reason)
                else:
                    d = replace(d, transition=outcome.transition, digest=outcome.digest)
                out.append((d, msg.key))
        return out

    async def _apply_isolating(
        self, keyed: Sequence[Keyed], stop: asyncio.Event
    ) -> tuple[list[Delivered], list[BatchResult]]:
        """Apply `keyed` in order; what a message makes fail is narrowed down to it by bisection.

        Returns the messages as applied (culprits turned into rejects) and one result per
        transaction. Each half carries its own offsets, and halves apply in order, so a
        partition's stored offset only moves forward; a crash midway redelivers the rest.
        """
        batch = [m for m, _ in keyed]
        try:
            return batch, [await self._with_retry(lambda: self._store.apply(batch), stop)]
        except BatchAbandonedError:
            raise
        except Exception as exc:  # outages were retried by _with_retry: this is a message
            if len(keyed) == 1:
                return await self._isolate_one(keyed[0], stop)
            log.warning(
                "batch of %d failed to apply (%s); splitting it", len(keyed), _describe(exc)
            )
        mid = len(keyed) // 2
        first, first_results = await self._apply_isolating(keyed[:mid], stop)
        second, second_results = await self._apply_isolating(keyed[mid:], stop)
        return first + second, first_results + second_results

    async def _isolate_one(
        self, one: Keyed, stop: asyncio.Event
    ) -> tuple[list[Delivered], list[BatchResult]]:
        """One message that failed alone: once more (a one-off error), else dead-letter it."""
        m, key = one
        try:
            return [m], [await self._with_retry(lambda: self._store.apply([m]), stop)]
        except BatchAbandonedError:
            raise
        except Exception as exc:
            failure = exc
        reason = m.reject_reason or ""
        if m.transition is not None:
            reason = safe_text(f"unstorable: {_describe(failure)}")
        log.error(
            "message %s:%d:%d cannot be applied; dead-lettering it: %s",
            m.topic, m.partition, m.offset, reason,
        )  # fmt: skip
        reject = replace(m, transition=None, reject_reason=reason, digest=None)
        if m.transition is not None:  # rejects from decode are on the topic already
            await self._with_retry(lambda: self._dead_letters.publish([(reject, key)]), stop)
        try:
            return [reject], [await self._with_retry(lambda: self._store.apply([reject]), stop)]
        except BatchAbandonedError:
            raise
        except Exception as exc:
            # Even its reject record failed (raw bytes the store cannot take): the dead-letter
            # topic has them; record the reason and offset without them.
            log.error("storing the reject failed too (%s); storing it without its bytes", exc)
            bare = replace(reject, raw=None)
            return [bare], [await self._with_retry(lambda: self._store.apply([bare]), stop)]

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
            # Safe to carry on: the batch is in the database, and whoever fetches it again from
            # the last committed offset finds its event ids applied.
            log.warning("kafka offset commit failed (%s); database offsets stand", exc)

    def _record(self, result: BatchResult, batch: Sequence[Delivered], seconds: float) -> None:
        s = self.stats
        s.batches += 1
        s.applied += result.applied
        s.duplicates += result.duplicates
        s.last_batch_seconds = seconds
        reasons = [
            m.reject_reason.split(":", 1)[0]
            for m in batch
            if m.transition is None and m.reject_reason is not None
        ]
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


def _merge(results: Sequence[BatchResult]) -> BatchResult:
    """The results of a batch applied in several transactions, as one."""
    offsets: dict[tuple[str, int], int] = {}
    for r in results:
        for tp, next_offset in r.next_offsets.items():
            offsets[tp] = max(offsets.get(tp, 0), next_offset)
    # Every other field is a count (applied, duplicates, rejected, ...): counts add up.
    counts = {
        f.name: sum(getattr(r, f.name) for r in results)
        for f in fields(BatchResult)
        if f.name != "next_offsets"
    }
    return replace(results[0], next_offsets=offsets, **counts)


def _broker_time(msg: Any) -> datetime | None:
    """The Kafka timestamp (ms) as a time; None when absent or not a representable time."""
    ms = getattr(msg, "timestamp", None)
    if not isinstance(ms, int) or ms < 0:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):  # a producer may set any CreateTime
        return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
