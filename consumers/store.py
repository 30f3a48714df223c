"""MongoDB adapter for the consumer: apply a batch atomically, offsets included.

Why one transaction per batch (DESIGN.md design 1): postings, aggregate increments, applied event
ids and each partition's next offset commit together or not at all. A consumer killed at any
point either left no trace of the batch (it is redelivered and applied then) or committed all of
it. Redelivered messages are recognised by their event ids, which the same transaction records:
not by offsets, because a recreated topic (or a broker that lost its log) starts again at offset
0 with new messages. Stored offsets record how far the database has applied each partition.
Two consumers applying the same event at once (a rebalance mid-batch) both insert its id, and
the database lets only one of the transactions commit; the other retries and sees it applied.

Offsets are keyed by topic and partition, not by consumer group: they describe what this database
has applied, which must hold even if an operator renames the group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from pymongo import AsyncMongoClient, InsertOne, ReplaceOne, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from consumers.documents import as_utc, doc_to_state, state_to_doc
from consumers.faults import NO_FAULTS, Faults
from consumers.plan import TimedPlan, plan_by_week
from rolepulse.domain.aggregates import DocRef
from rolepulse.domain.history import iso_week, role_snapshot, week_start
from rolepulse.domain.lifecycle import Observed, PostingState, Transition, transition_key
from schema.documents import DATA_VERSION_COLLECTION, DATA_VERSION_ID

Doc = dict[str, Any]

COLLECTION_OF_KIND = {"role": "role_aggregates", "market": "market_aggregates"}
STREAM_CLOCK_ID = "postings"
# The dead-letter topic keeps a reject's full bytes; the database keeps enough to read the cause.
MAX_STORED_REJECT_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message of a batch: where it came from and what it decoded to."""

    topic: str
    partition: int
    offset: int
    transition: Transition | None  # None: rejected (already dead-lettered)
    reject_reason: str | None = None
    raw: bytes | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    applied: int
    duplicates: int
    rejected: int
    next_offsets: dict[tuple[str, int], int]


async def stream_time(
    db: AsyncDatabase[Doc], session: AsyncClientSession | None = None
) -> datetime | None:
    """The latest feed event time applied so far: the clock of weekly history and expiry."""
    doc = await db.stream_clock.find_one({"_id": STREAM_CLOCK_ID}, session=session)
    return None if doc is None else as_utc(doc["max_event_at"])


def offset_id(topic: str, partition: int) -> str:
    return f"{topic}|{partition}"


class MongoBatchStore:
    def __init__(
        self, client: AsyncMongoClient[Doc], database: str, faults: Faults = NO_FAULTS
    ) -> None:
        self._client = client
        self._db: AsyncDatabase[Doc] = client[database]
        self._faults = faults

    async def ensure_indexes(self) -> None:
        await self._db.postings.create_index([("role", 1), ("open", 1)])
        await self._db.rejects.create_index([("at", 1)])
        # The sweeper's query: open postings by last observation.
        await self._db.postings.create_index([("open", 1), ("last_observed_at", 1)])
        await self._db.postings.create_index([("cluster_key", 1)])
        await self._db.role_weekly.create_index([("role", 1), ("week", 1)])

    async def apply(self, batch: Sequence[Delivered]) -> BatchResult:
        """Apply `batch` exactly once; retried whole on transient transaction errors."""
        async with self._client.start_session() as session:
            result: BatchResult = await session.with_transaction(self._callback(batch))
            return result

    def _callback(self, batch: Sequence[Delivered]) -> Callable[[AsyncClientSession], Any]:
        async def run(session: AsyncClientSession) -> BatchResult:
            return await self._apply_in(session, batch)

        return run

    async def _apply_in(self, s: AsyncClientSession, batch: Sequence[Delivered]) -> BatchResult:
        transitions = [m.transition for m in batch if m.transition is not None]
        prior = await self._known_states(s, transitions)
        seen = await self._seen_events(s, {t.event_id for t in transitions})
        clock = await stream_time(self._db, s)
        plan = plan_by_week(transitions, prior, seen, clock)
        await self._write_postings(s, plan)
        self._faults.reached("postings_written")
        for step in plan.steps:
            await self._write_aggregates(s, step.increments, step.clock)
        if any(step.increments for step in plan.steps):
            # Readers cache responses per version: any change of the figures must bump it.
            await self._db[DATA_VERSION_COLLECTION].update_one(
                {"_id": DATA_VERSION_ID}, {"$inc": {"version": 1}}, upsert=True, session=s
            )
        if plan.clock is not None and plan.clock != clock:
            await self._db.stream_clock.update_one(
                {"_id": STREAM_CLOCK_ID},
                {"$max": {"max_event_at": plan.clock}},
                upsert=True,
                session=s,
            )
        rejects = [m for m in batch if m.transition is None]
        await self._write_rejects(s, rejects)
        next_offsets = self._next_offsets(batch)
        await self._write_offsets(s, next_offsets)
        self._faults.reached("aggregates_written")
        return BatchResult(
            applied=len(plan.applied_event_ids),
            duplicates=plan.duplicate_events,
            rejected=len(rejects),
            next_offsets=next_offsets,
        )

    async def _known_states(
        self, s: AsyncClientSession, transitions: Sequence[Transition]
    ) -> dict[str, PostingState]:
        """Stored states of the touched postings and of every member of a cluster they touch.

        All members of a cluster share its cluster key, so loading by key finds them all: the
        keys the batch brings and the keys the touched postings had before.
        """
        keys = sorted({transition_key(t) for t in transitions})
        if not keys:
            return {}
        cursor = self._db.postings.find({"_id": {"$in": keys}}, session=s)
        known = {d["_id"]: doc_to_state(d) async for d in cursor}
        cluster_keys = {t.posting.cluster_key for t in transitions if isinstance(t, Observed)}
        cluster_keys |= {p.posting.cluster_key for p in known.values() if p.posting}
        cluster_keys.discard(None)
        if cluster_keys:
            query = {"cluster_key": {"$in": sorted(k for k in cluster_keys if k)}}
            async for d in self._db.postings.find(query, session=s):
                known.setdefault(d["_id"], doc_to_state(d))
        return known

    async def _seen_events(self, s: AsyncClientSession, ids: set[str]) -> set[str]:
        if not ids:
            return set()
        cursor = self._db.processed_events.find(
            {"_id": {"$in": sorted(ids)}}, {"_id": 1}, session=s
        )
        return {d["_id"] async for d in cursor}

    async def _write_postings(self, s: AsyncClientSession, plan: TimedPlan) -> None:
        now = datetime.now(UTC)
        if plan.applied_event_ids:
            await self._db.processed_events.insert_many(
                [{"_id": e, "at": now} for e in plan.applied_event_ids], ordered=False, session=s
            )
        ops: list[InsertOne[Doc] | ReplaceOne[Doc]] = []
        for key, state in plan.states.items():
            doc: Doc = dict(state_to_doc(state))
            ops.append(InsertOne(doc) if key in plan.inserts else ReplaceOne({"_id": key}, doc))
        if ops:
            await self._db.postings.bulk_write(ops, ordered=False, session=s)

    async def _write_aggregates(
        self,
        s: AsyncClientSession,
        increments: Mapping[DocRef, dict[str, int]],
        clock: datetime | None,
    ) -> None:
        # Sorted so concurrent consumers touch shared aggregate documents in the same order.
        for (kind, doc_id), inc in sorted(increments.items()):
            doc = await self._db[COLLECTION_OF_KIND[kind]].find_one_and_update(
                {"_id": doc_id},
                {"$inc": inc},
                upsert=True,
                return_document=ReturnDocument.AFTER,
                session=s,
            )
            assert doc is not None  # as above
            if kind == "role" and clock is not None:
                await self._write_week(s, doc_id, doc, clock)

    async def _write_week(
        self, s: AsyncClientSession, role: str, role_doc: Mapping[str, Any], clock: datetime
    ) -> None:
        week = iso_week(clock)
        snapshot = role_snapshot(role_doc) | {
            "role": role,
            "week": week,
            "week_start": datetime.combine(week_start(clock), time(), UTC),
            "as_of": clock,
        }
        await self._db.role_weekly.replace_one(
            {"_id": f"{role}|{week}"}, snapshot, upsert=True, session=s
        )

    async def _write_rejects(self, s: AsyncClientSession, rejects: Sequence[Delivered]) -> None:
        if not rejects:
            return
        now = datetime.now(UTC)
        ops = []
        for m in rejects:
            # Keyed by content too: a redelivered reject replaces its record, while a recreated
            # log that reuses the offset for another message keeps both.
            digest = hashlib.sha256(m.raw or b"").hexdigest()[:16]
            doc = {
                "_id": f"{m.topic}|{m.partition}|{m.offset}|{digest}",
                "topic": m.topic,
                "partition": m.partition,
                "offset": m.offset,
                "reason": m.reject_reason,
                "raw": (m.raw or b"")[:MAX_STORED_REJECT_BYTES],
                "size": len(m.raw or b""),
                "at": now,
            }
            ops.append(ReplaceOne({"_id": doc["_id"]}, doc, upsert=True))
        await self._db.rejects.bulk_write(ops, ordered=False, session=s)

    @staticmethod
    def _next_offsets(batch: Sequence[Delivered]) -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        for m in batch:
            tp = (m.topic, m.partition)
            out[tp] = max(out.get(tp, 0), m.offset + 1)
        return out

    async def _write_offsets(
        self, s: AsyncClientSession, offsets: Mapping[tuple[str, int], int]
    ) -> None:
        for (topic, partition), next_offset in sorted(offsets.items()):
            await self._db.consumer_offsets.update_one(
                {"_id": offset_id(topic, partition)},
                {"$set": {"topic": topic, "partition": partition, "next_offset": next_offset}},
                upsert=True,
                session=s,
            )
