"""MongoDB adapter for the consumer: apply a batch atomically, offsets included.

Why one transaction per batch (DESIGN.md design 1): postings, aggregate increments, applied event
ids and each partition's next offset commit together or not at all. A consumer killed at any
point either left no trace of the batch (it is redelivered and applied then) or committed all of
it. Redelivered messages are recognised by their event ids, which the same transaction records
in the log of the posting they changed: not by offsets, because a recreated topic (or a broker
that lost its log) starts again at offset 0 with new messages. Stored offsets record how far the
database has applied each partition, and the latest event time applied from it (the watermark).
Two consumers applying the same event at once (a rebalance mid-batch) both rewrite its posting,
and the database lets only one of the transactions commit; the other retries and sees it applied.

Every read of a batch is bounded by the batch: postings by `_id`, and only for postings whose
contribution can change, the members of their clusters (at most one per board) and the clusters
of their key first seen within the window. Nothing read grows with the store.

Offsets are keyed by topic and partition, not by consumer group: they describe what this database
has applied, which must hold even if an operator renames the group.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, DeleteOne, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from rolepulse.consumers.documents import as_utc, doc_to_state, state_to_doc
from rolepulse.consumers.faults import NO_FAULTS, Faults
from rolepulse.consumers.plan import ClusterLookups, TimedPlan, cluster_lookups, plan_by_week
from rolepulse.domain.aggregates import CELL, SKILL, TOTAL, DocRef, add_increments
from rolepulse.domain.clusters import slot, slots
from rolepulse.domain.history import week_monday_utc, weekly_increments
from rolepulse.domain.lifecycle import Closed, Observed, PostingState, Transition, transition_key
from rolepulse.domain.rollups import add_in_place, decode_payload, encode_payload, rollup_fields
from rolepulse.schema.documents import (
    DATA_VERSION_COLLECTION,
    DATA_VERSION_ID,
    ROLE_WEEKLY_INDEX,
    WEEK_INDEX_COMPLETE,
)
from rolepulse.schema.postings_indexes import DRILL_DOWN_INDEXES

Doc = dict[str, Any]

COLLECTION_OF_KIND = {"role": "role_aggregates", "market": "market_aggregates"}
# Rollups (rolepulse/domain/rollups.py): counters as one JSON payload per document, field `c`.
ROLLUP_COLLECTIONS = {CELL: "role_cells", SKILL: "role_skills", TOTAL: "role_totals"}
# The dead-letter topic keeps a reject's full bytes; the database keeps enough to read the cause.
MAX_STORED_REJECT_BYTES = 64 * 1024
# SecantusDB checks every document an `$in` matched against the whole list (DESIGN.md), so an
# `$in` costs list length x matches: 2,000 stored ids took 0.30 s in chunks of 100, 0.19 s in
# chunks of 25 - 50, 3.7 s as one list. Real MongoDB is indifferent to the chunking.
IN_CHUNK = 40
# A posting keeps the ids of its latest events (with a digest of each) to recognise
# redeliveries. An older event redelivered after its id left the log changes nothing: the
# lifecycle ignores observations and closes older than the posting's latest event.
EVENT_LOG_LIMIT = 16
# Of the digest, a posting keeps enough to tell two contents apart (64 bits), not all of it:
# every byte of the log is rewritten with each observation.
LOGGED_DIGEST_CHARS = 16


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message of a batch: where it came from and what it decoded to."""

    topic: str
    partition: int
    offset: int
    transition: Transition | None  # None: rejected (already dead-lettered)
    reject_reason: str | None = None
    raw: bytes | None = None  # original bytes; kept in `rejects` for a reject or a conflict
    # sha256 hex of the event's canonical JSON (accepted messages): tells a redelivery (same
    # digest) from a different event that reuses an applied event id (a conflict).
    digest: str | None = None


async def stream_time(
    db: AsyncDatabase[Doc], session: AsyncClientSession | None = None
) -> datetime | None:
    """The stream's watermark: the clock of expiry and of the latest week.

    Each partition's offset document records the latest event time applied from it; the
    watermark is the minimum over the partitions that have applied any. A backfill that drains
    one partition ahead of the others (a consumer reads partition after partition) thus cannot
    move the clock past events still waiting in a partition that is behind.
    """
    cursor = db.consumer_offsets.find(
        {"max_event_at": {"$exists": True}}, {"max_event_at": 1}, session=session
    )
    times = [as_utc(d["max_event_at"]) async for d in cursor]
    return min(times) if times else None


async def applied_event_ids(db: AsyncDatabase[Doc]) -> set[str]:
    """Every event id still in a posting's log (what a redelivery is recognised by)."""
    cursor = db.postings.find({}, {"events.id": 1})
    return {e["id"] async for d in cursor for e in d.get("events", ())}


def offset_id(topic: str, partition: int) -> str:
    return f"{topic}|{partition}"


@dataclass(frozen=True, slots=True)
class BatchResult:
    applied: int
    duplicates: int
    rejected: int
    next_offsets: dict[tuple[str, int], int]
    conflicts: int = 0  # events reusing an applied event id with other content (in `rejects`)
    writes: int = 0  # documents written (inserted, replaced, updated): write amplification
    reads: int = 0  # postings read: bounded by the batch, whatever the size of the store


class MongoBatchStore:
    def __init__(
        self, client: AsyncMongoClient[Doc], database: str, faults: Faults = NO_FAULTS
    ) -> None:
        self._client = client
        self._db: AsyncDatabase[Doc] = client[database]
        self._faults = faults
        self._reads = 0  # postings read by the transaction attempt in flight
        # Stored `counted` flags of the postings the attempt in flight read (None: never set).
        self._counted: dict[str, bool | None] = {}

    async def ensure_indexes(self) -> None:
        # Secondary indexes of `postings` make every insert dearer on SecantusDB (2,000 inserts:
        # 0.24 s with none, 0.6 s with three): only what the bounded reads and the sweeper need.
        await self._db.rejects.create_index([("at", 1)])
        # The sweeper's query: open postings by last observation.
        await self._db.postings.create_index([("open", 1), ("last_observed_at", 1)])
        # Clusters a new posting may join: same key, first seen within the window. One field,
        # not (cluster_key, first_seen_at): SecantusDB plans `$in` plus a range on that
        # compound index as a collection scan (explain), which grows with the store.
        await self._db.postings.create_index([("cluster_slot", 1)])
        await self._db.postings.create_index([("cluster_id", 1)])
        await self._db.role_weekly.create_index([("role", 1), ("week", 1)])
        await self._index_weeks()
        # Filtered figures (rolepulse/domain/rollups.py): a role's cells are read by role (an
        # `_id` prefix range is a collection scan on SecantusDB). Their postings path reads
        # through the drill-down's indexes (schema/postings_indexes.py), none of its own.
        await self._db.role_cells.create_index([("role", 1)])
        # The drill-down (the API's `postings`): per order and driving dimension, open postings
        # only (partial), each about 0.05 - 0.1 ms more per posting written here.
        for spec in DRILL_DOWN_INDEXES:
            await self._db.postings.create_index(list(spec.keys), **spec.create_kwargs())

    async def _index_weeks(self) -> None:
        """List in `role_weekly_index` the weeks of weekly history written before it existed
        (schema/documents.py), once; every batch keeps it since.

        In a transaction: a batch committing meanwhile writes the same index documents, so one
        of the two retries, and the index is complete when its marker is written.
        """

        async def build(s: AsyncClientSession) -> None:
            index = self._db[ROLE_WEEKLY_INDEX]
            if await index.find_one({"_id": WEEK_INDEX_COMPLETE}, session=s) is not None:
                return
            weeks: dict[str, set[str]] = {}
            async for d in self._db.role_weekly.find({}, {"role": 1, "week": 1}, session=s):
                weeks.setdefault(d["role"], set()).add(d["week"])
            ops = [
                ReplaceOne({"_id": role}, {"_id": role, "weeks": sorted(found)}, upsert=True)
                for role, found in sorted(weeks.items())
            ]
            ops.append(ReplaceOne({"_id": WEEK_INDEX_COMPLETE}, {}, upsert=True))
            await index.bulk_write(ops, ordered=True, session=s)

        async with self._client.start_session() as session:
            await session.with_transaction(build)

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
        self._reads = 0
        self._counted = {}
        accepted = [m for m in batch if m.transition is not None]
        keys = sorted({transition_key(m.transition) for m in accepted if m.transition})
        docs = {d["_id"]: d for d in await self._find_in(s, "_id", keys)}
        known = {k: doc_to_state(d) for k, d in docs.items()}
        logged = {e["id"]: e.get("h") for d in docs.values() for e in d.get("events", ())}
        valid, conflicts = _split_conflicts(accepted, logged)
        transitions = [m.transition for m in valid if m.transition is not None]
        seen = set(logged)
        await self._load_clusters(s, cluster_lookups(transitions, known, seen), known)
        plan = plan_by_week(transitions, known, seen)
        writes = await self._write_postings(s, plan, known, docs, valid)
        self._faults.reached("postings_written")
        writes += await self._write_aggregates(s, plan)
        rejects = [m for m in batch if m.transition is None]
        writes += await self._write_rejects(s, [*rejects, *conflicts])
        next_offsets = _next_offsets(batch)
        writes += await self._write_offsets(s, next_offsets, _latest_event_times(valid))
        self._faults.reached("aggregates_written")
        return BatchResult(
            applied=len(plan.applied_event_ids),
            duplicates=plan.duplicate_events,
            rejected=len(rejects) + len(conflicts),
            next_offsets=next_offsets,
            conflicts=len(conflicts),
            writes=writes,
            reads=self._reads,
        )

    async def _find_in(self, s: AsyncClientSession, field: str, values: Sequence[Any]) -> list[Doc]:
        """Postings whose indexed `field` is one of `values` (an index scan; see IN_CHUNK)."""
        out: list[Doc] = []
        for i in range(0, len(values), IN_CHUNK):
            query = {field: {"$in": list(values[i : i + IN_CHUNK])}}
            out += await self._db.postings.find(query, session=s).to_list()
        self._reads += len(out)
        for d in out:
            self._counted[d["_id"]] = d.get("counted")
        return out

    async def _load_clusters(
        self, s: AsyncClientSession, lookups: ClusterLookups, known: dict[str, PostingState]
    ) -> None:
        """Add to `known` every member of the clusters the batch can affect.

        Candidates are the postings of the key in the slots around each first-seen time, and a
        cluster has at most one member per board: neither grows with the store.
        """
        cluster_ids = set(lookups.cluster_ids)
        wanted = sorted({x for k, (lo, hi) in lookups.keys.items() for x in slots(k, lo, hi)})
        for d in await self._find_in(s, "cluster_slot", wanted):
            k_lo, k_hi = lookups.keys[d["cluster_key"]]
            if d.get("cluster_id") and k_lo <= as_utc(d["first_seen_at"]) <= k_hi:
                cluster_ids.add(d["cluster_id"])
        for d in await self._find_in(s, "cluster_id", sorted(cluster_ids)):
            known.setdefault(d["_id"], doc_to_state(d))

    async def _write_postings(
        self,
        s: AsyncClientSession,
        plan: TimedPlan,
        known: Mapping[str, PostingState],
        docs: Mapping[str, Doc],
        valid: Sequence[Delivered],
    ) -> int:
        applied = set(plan.applied_event_ids)
        new_events: dict[str, list[Doc]] = {}
        for m in valid:
            t = m.transition
            if t is not None and t.event_id in applied:
                entry = {"id": t.event_id, "h": _logged(m.digest), "at": t.occurred_at}
                new_events.setdefault(transition_key(t), []).append(entry)
        states = dict(plan.states)
        for key in new_events.keys() - states.keys():
            if key in known:  # applied without changing the state: its id is still recorded
                states[key] = known[key]
        inserts: list[Doc] = []
        replaces: list[ReplaceOne[Doc] | UpdateOne] = []
        for key, state in states.items():
            log = [*(docs[key].get("events", ()) if key in docs else ()), *new_events.get(key, ())]
            doc: Doc = dict(state_to_doc(state)) | {"events": _newest_events(log)}
            if doc["cluster_key"] is not None:
                doc["cluster_slot"] = slot(doc["cluster_key"], state.first_seen_at)
            counted = plan.counted.get(key, self._counted.get(key))
            if counted is not None:
                doc["counted"] = counted
            if key in plan.inserts:
                inserts.append(doc)
            else:
                replaces.append(ReplaceOne({"_id": key}, doc))
        # Members whose own state stands but whose cluster now counts through another member.
        for key, counted in sorted(plan.counted.items()):
            if key not in states and self._counted.get(key) != counted:
                replaces.append(UpdateOne({"_id": key}, {"$set": {"counted": counted}}))
        if inserts:
            # Plain inserts are the cheapest write on both servers (DESIGN.md).
            await self._db.postings.insert_many(inserts, ordered=False, session=s)
        if replaces:
            await self._db.postings.bulk_write(replaces, ordered=False, session=s)
        return len(inserts) + len(replaces)

    async def _write_aggregates(self, s: AsyncClientSession, plan: TimedPlan) -> int:
        """Each touched aggregate document once, then the weekly history of each week.

        Read, add in Python, replace: SecantusDB's `$inc` costs grow faster than the number of
        paths (400 paths on a 1,000-field role document: 65 ms, against 3 ms to replace it),
        and a batch touches hundreds of histogram paths per role. Inside the transaction this
        is as safe as `$inc`: a concurrent writer of the same document makes one of the two
        transactions fail with a transient write conflict and retry.
        """
        total = _summed(step.increments for step in plan.steps)
        writes = 0
        for kind, collection in COLLECTION_OF_KIND.items():
            incs = {doc_id: inc for (k, doc_id), inc in total.items() if k == kind}
            writes += await self._add_to(s, self._db[collection], incs)
        for kind, collection in ROLLUP_COLLECTIONS.items():
            incs = {doc_id: inc for (k, doc_id), inc in total.items() if k == kind}
            writes += await self._add_to_rollups(s, kind, self._db[collection], incs)
        writes += await self._write_weeks(s, _weekly_steps(plan))
        if writes:
            # Readers cache responses per version: any change of the figures must bump it.
            await self._db[DATA_VERSION_COLLECTION].update_one(
                {"_id": DATA_VERSION_ID}, {"$inc": {"version": 1}}, upsert=True, session=s
            )
            writes += 1
        return writes

    async def _add_to(
        self, s: AsyncClientSession, collection: AsyncCollection[Doc], incs: Mapping[str, Doc]
    ) -> int:
        if not incs:
            return 0
        ids = sorted(incs)
        stored = {d["_id"]: d async for d in collection.find({"_id": {"$in": ids}}, session=s)}
        # Sorted so concurrent consumers touch shared aggregate documents in the same order.
        ops = [
            ReplaceOne({"_id": i}, add_increments(stored.get(i, {"_id": i}), incs[i]), upsert=True)
            for i in ids
        ]
        await collection.bulk_write(ops, ordered=True, session=s)
        return len(ops)

    async def _add_to_rollups(
        self,
        s: AsyncClientSession,
        kind: str,
        collection: AsyncCollection[Doc],
        incs: Mapping[str, Doc],
    ) -> int:
        """As `_add_to`, on JSON payloads; a rollup whose counters all reach zero is deleted, so
        the number of rollups follows what is open (a city that had one posting leaves none)."""
        if not incs:
            return 0
        ids = sorted(incs)
        stored: dict[str, Doc] = {}
        for start in range(0, len(ids), IN_CHUNK):  # short `$in` lists (IN_CHUNK)
            query = {"_id": {"$in": ids[start : start + IN_CHUNK]}}
            stored |= {d["_id"]: d async for d in collection.find(query, session=s)}
        ops: list[ReplaceOne[Doc] | DeleteOne] = []
        for i in ids:
            counters = add_in_place(decode_payload(stored.get(i, {}).get("c")), incs[i])
            if counters:
                doc = {"_id": i, **rollup_fields(kind, i), "c": encode_payload(counters)}
                ops.append(ReplaceOne({"_id": i}, doc, upsert=True))
            elif i in stored:
                ops.append(DeleteOne({"_id": i}))
        if ops:
            await collection.bulk_write(ops, ordered=True, session=s)
        return len(ops)

    async def _write_weeks(
        self, s: AsyncClientSession, steps: Mapping[str, Sequence[tuple[str, Doc]]]
    ) -> int:
        """Add each change to the week of its event and to every later week of its role.

        Weekly documents are cumulative, a role's counters as of the end of the week, so a late
        event changes its own week and the weeks after it. A week seen for the first time
        starts from the latest earlier week (or from nothing).
        """
        if not steps:
            return 0
        collection: AsyncCollection[Doc] = self._db.role_weekly
        index = self._db[ROLE_WEEKLY_INDEX]
        roles = sorted(steps)
        known = {d["_id"]: d["weeks"] async for d in index.find({"_id": {"$in": roles}}, session=s)}
        docs: dict[str, dict[str, Doc]] = {}
        created: dict[str, set[str]] = {}
        for role in roles:
            # One range per role on (role, week): `$in` roles plus a range is a collection scan
            # on SecantusDB. From the role's newest week before the batch's first, when the
            # index knows it: the base of a week seen for the first time.
            first = steps[role][0][0]
            before = [w for w in known.get(role, ()) if w < first]
            query = {"role": role, "week": {"$gte": before[-1] if before else first}}
            docs[role] = {d["week"]: d async for d in collection.find(query, session=s)}
            stored = set(docs[role])
            await self._add_weeks(s, role, docs[role], steps[role])
            created[role] = set(docs[role]) - stored
        ops = [
            ReplaceOne({"_id": d["_id"]}, d, upsert=True)
            for role in roles
            for week, d in sorted(docs[role].items())
            if week >= steps[role][0][0]
        ]
        await collection.bulk_write(ops, ordered=True, session=s)
        # Weeks seen for the first time join the role's list, in this transaction.
        lists = {r: sorted({*known.get(r, ()), *new}) for r, new in created.items() if new}
        listed = [
            ReplaceOne({"_id": r}, {"_id": r, "weeks": w}, upsert=True) for r, w in lists.items()
        ]
        if listed:
            await index.bulk_write(listed, ordered=True, session=s)
        return len(ops) + len(listed)

    async def _add_weeks(
        self,
        s: AsyncClientSession,
        role: str,
        docs: dict[str, Doc],
        weeks: Sequence[tuple[str, Doc]],
    ) -> None:
        for week, inc in weeks:
            if week not in docs:
                earlier = [w for w in docs if w < week]
                base = docs[max(earlier)] if earlier else await self._week_before(s, role, week)
                counters = {k: v for k, v in base.items() if k not in _WEEK_KEYS}
                start = {"_id": f"{role}|{week}", "role": role, "week": week}
                docs[week] = counters | start | {"week_start": week_monday_utc(week)}
            for later in [w for w in docs if w >= week]:
                docs[later] = add_increments(docs[later], inc)

    async def _week_before(self, s: AsyncClientSession, role: str, week: str) -> Doc:
        found = await self._db.role_weekly.find_one(
            {"role": role, "week": {"$lt": week}}, sort=[("week", -1)], session=s
        )
        return found or {}

    async def _write_rejects(self, s: AsyncClientSession, rejects: Sequence[Delivered]) -> int:
        if not rejects:
            return 0
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
        return len(ops)

    async def _write_offsets(
        self,
        s: AsyncClientSession,
        offsets: Mapping[tuple[str, int], int],
        event_times: Mapping[tuple[str, int], datetime],
    ) -> int:
        ops: list[UpdateOne] = []
        for (topic, partition), next_offset in sorted(offsets.items()):
            update: Doc = {
                "$set": {"topic": topic, "partition": partition, "next_offset": next_offset}
            }
            if (topic, partition) in event_times:
                update["$max"] = {"max_event_at": event_times[(topic, partition)]}
            ops.append(UpdateOne({"_id": offset_id(topic, partition)}, update, upsert=True))
        if ops:
            await self._db.consumer_offsets.bulk_write(ops, ordered=True, session=s)
        return len(offsets)


_WEEK_KEYS = ("_id", "role", "week", "week_start")


def _summed(increments: Iterable[Mapping[DocRef, Mapping[str, int]]]) -> dict[DocRef, Doc]:
    total: dict[DocRef, Doc] = {}
    for step in increments:
        for ref, inc in step.items():
            doc = total.setdefault(ref, {})
            for path, value in inc.items():
                doc[path] = doc.get(path, 0) + value
    nonzero = {ref: {p: v for p, v in inc.items() if v} for ref, inc in total.items()}
    return {ref: inc for ref, inc in nonzero.items() if inc}


def _weekly_steps(plan: TimedPlan) -> dict[str, list[tuple[str, Doc]]]:
    """Per role, the weekly part of each step's increments, in week order."""
    out: dict[str, list[tuple[str, Doc]]] = {}
    for step in plan.steps:
        for (kind, role), inc in sorted(step.increments.items()):
            weekly = weekly_increments(inc) if kind == "role" else {}
            if weekly:
                out.setdefault(role, []).append((step.week, weekly))
    return out


def _split_conflicts(
    accepted: Sequence[Delivered], logged: Mapping[str, str | None]
) -> tuple[list[Delivered], list[Delivered]]:
    """Set aside events that reuse an applied event id with other content.

    A redelivery carries the same content (digest) and is left for the plan to count as a
    duplicate; other content under an applied id is a producer bug whose event would otherwise
    vanish unseen, so it is recorded in `rejects` as a conflict. The first of the two wins.
    """
    digests: dict[str, str | None] = dict(logged)
    valid: list[Delivered] = []
    conflicts: list[Delivered] = []
    for m in accepted:
        assert m.transition is not None
        eid = m.transition.event_id
        digest = _logged(m.digest)
        known = digests.setdefault(eid, digest)
        if known is not None and digest is not None and known != digest:
            reason = f"conflict: event_id {eid!r} was already applied with other content"
            conflicts.append(dataclasses.replace(m, transition=None, reject_reason=reason))
        else:
            valid.append(m)
    return valid, conflicts


def _logged(digest: str | None) -> str | None:
    return None if digest is None else digest[:LOGGED_DIGEST_CHARS]


def _newest_events(log: Sequence[Doc]) -> list[Doc]:
    unique = {e["id"]: e for e in log}
    return sorted(unique.values(), key=lambda e: (as_utc(e["at"]), e["id"]))[-EVENT_LOG_LIMIT:]


def _next_offsets(batch: Sequence[Delivered]) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    for m in batch:
        tp = (m.topic, m.partition)
        out[tp] = max(out.get(tp, 0), m.offset + 1)
    return out


def _latest_event_times(batch: Sequence[Delivered]) -> dict[tuple[str, int], datetime]:
    """Per partition, the latest feed event time (expiry events are derived from the clock)."""
    out: dict[tuple[str, int], datetime] = {}
    for m in batch:
        if isinstance(m.transition, Observed | Closed):
            tp = (m.topic, m.partition)
            at = m.transition.occurred_at
            out[tp] = max(out.get(tp, at), at)
    return out
