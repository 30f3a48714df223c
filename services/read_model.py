"""The API's port onto the aggregate read model, and its MongoDB adapter.

Unfiltered resolvers only ever read the documents the consumer keeps (`role_aggregates`,
`market_aggregates`, `role_weekly`), so every request is a couple of small reads. Filtered
figures (`SliceModel`) read the rollups (`role_cells`, `role_skills`, `role_totals`) and, for the
filters no rollup answers exactly, a bounded, indexed read of open postings
(rolepulse/domain/rollups.py says which).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast, runtime_checkable

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from rolepulse.consumers.documents import doc_to_state
from rolepulse.consumers.store import ROLLUP_COLLECTIONS, stream_time
from rolepulse.domain.aggregates import CELL, MARKET_DOC, SKILL, TOTAL, decode_key, encode_key
from rolepulse.domain.history import role_snapshot
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.rollups import Counters, cell_id, decode_payload, skill_id
from rolepulse.schema.documents import (
    DATA_VERSION_COLLECTION,
    DATA_VERSION_ID,
    ROLE_WEEKLY_INDEX,
    MarketAggregateDoc,
    RoleAggregateDoc,
)
from rolepulse.services.data_version import PushUnavailableError
from rolepulse.services.postings_read import MongoPostings
from rolepulse.services.weekly_read import MongoWeeks

ROLE_AGGREGATES = "role_aggregates"
MARKET_AGGREGATES = "market_aggregates"
ROLE_WEEKLY = "role_weekly"

# Changes of the version document, and the events after which it can no longer be followed
# (they are not about one document, so a match on the document key alone would hide them).
_VERSION_CHANGES: list[dict[str, Any]] = [
    {
        "$match": {
            "$or": [
                {"documentKey._id": DATA_VERSION_ID},
                {"operationType": {"$in": ["drop", "dropDatabase", "rename", "invalidate"]}},
            ]
        }
    }
]
# Server answers meaning "no change streams here": 40573 a standalone mongod ("only supported on
# replica sets"), 40324 an unknown $changeStream stage, 115 command not supported.
_NO_CHANGE_STREAMS = {40573, 40324, 115}

# A weekly snapshot: the figures of a weekly document's counters (role_snapshot) + its keys.
WeeklyDoc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class WeeklyHistory:
    """Recent weekly snapshots of some roles, and where the whole history ends."""

    latest_week: str | None  # latest ISO week with a snapshot of ANY role; None before any
    by_role: dict[str, list[WeeklyDoc]] = field(default_factory=dict)  # newest first


class ReadModel(Protocol):
    """What the GraphQL layer reads. Missing documents are simply absent / empty, never errors."""

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        """Aggregate documents of the given role slugs that exist, keyed by slug."""
        ...

    async def market(self) -> MarketAggregateDoc:
        """The market document; `{}` before the consumer has written anything."""
        ...

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        """Each given role's newest `per_role` weekly snapshots, or fewer: none older than the
        one standing at the start of the `per_role` weeks ending at the latest week (what a
        trend of up to `per_role - 1` weeks needs; rolepulse/domain/trends.py weeks_to_read)."""
        ...

    async def ping(self) -> bool:
        """True when the backing store answers."""
        ...


@runtime_checkable
class SliceModel(Protocol):
    """What filtered figures read (rolepulse/domain/rollups.py). Decoded rollup payloads are
    figure-set counters; a missing rollup is an empty one."""

    async def role_totals(self, slugs: Sequence[str]) -> dict[str, Counters]:
        """The total rollup of each given role that has one."""
        ...

    async def role_cells(self, slug: str, metros: Sequence[str | None] | None) -> list[Counters]:
        """The cell rollups of a role for the given metros (None: every metro of the role)."""
        ...

    async def role_skill(self, slug: str, skill: str) -> Counters:
        """The skill rollup of one role and skill."""
        ...

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        """The postings `queries` match that carry `counted` (their job counts through them),
        at most `limit`."""
        ...

    async def stream_clock(self) -> datetime | None:
        """The stream's watermark (consumers/store.py `stream_time`); None before any event."""
        ...

    async def metro_names(self) -> frozenset[str]:
        """Every metro with an open posting of some role."""
        ...

    async def market_counts(
        self, companies: Sequence[str], skills: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        """Open postings of each company and of each skill summed over every role, keyed by
        encoded name (aggregates.encode_key)."""
        ...


class MongoReadModel:
    """`ReadModel` over a pymongo async database.

    The composition root creates the client inside the server's lifespan (it must bind to the
    running event loop) and hands the database over with `attach`, so this object can be wired
    into the app before any connection exists.
    """

    def __init__(self, database: AsyncDatabase[Any] | None = None) -> None:
        self._db = database

    def attach(self, database: AsyncDatabase[Any]) -> None:
        self._db = database

    def detach(self) -> None:
        self._db = None

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        cursor = self._database()[ROLE_AGGREGATES].find({"_id": {"$in": list(slugs)}})
        return {doc["_id"]: cast(RoleAggregateDoc, doc) async for doc in cursor}

    async def market(self) -> MarketAggregateDoc:
        doc = await self._database()[MARKET_AGGREGATES].find_one({"_id": MARKET_DOC})
        return cast(MarketAggregateDoc, doc or {})

    async def data_version(self) -> int | None:
        """Bumped by the consumer with every batch that changes aggregates (response cache key)."""
        doc = await self._database()[DATA_VERSION_COLLECTION].find_one({"_id": DATA_VERSION_ID})
        return 0 if doc is None else int(doc["version"])

    async def watch_data_version(self, heartbeat_s: float) -> AsyncGenerator[int | None, None]:
        """Versions as the consumer commits them, by a change stream (services.data_version).

        Yields None once the stream is open and whenever an idle await of `heartbeat_s` ends;
        ends when the document is deleted or replaced or its collection dropped, since the
        version may then go back (the caller re-reads it). Raises `PushUnavailableError` on a server
        without change streams.
        """
        collection = self._database()[DATA_VERSION_COLLECTION]
        try:
            stream = await collection.watch(
                _VERSION_CHANGES, max_await_time_ms=max(1, int(heartbeat_s * 1000))
            )
        except OperationFailure as exc:
            if exc.code in _NO_CHANGE_STREAMS:
                raise PushUnavailableError(str(exc)) from exc
            raise
        async with stream:
            yield None
            while stream.alive:
                change = await stream.try_next()
                if change is None:
                    yield None
                elif change["operationType"] not in ("insert", "update"):
                    return
                else:
                    yield _version_of(change)

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        # Every role's trend ends on the latest week of ANY role (carried forward if the role
        # did not change); only the window's documents are read (services/weekly_read.py).
        weeks = await self._weeks().read(slugs, per_role)
        by_role = {role: [_snapshot(d) for d in docs] for role, docs in weeks.by_role.items()}
        return WeeklyHistory(weeks.latest, by_role)

    async def week_counters(
        self, per_role: int, fields: Sequence[str], until: str | None = None
    ) -> WeeklyHistory:
        """Every role's newest `per_role` weekly documents at or before week `until` (default:
        the latest week of any role), or fewer, as `role_weeks` reads them; as stored, only
        `fields` (dotted paths) beside `role` and `week`: the market's trend sums counters,
        not figures (rolepulse/domain/market_trend.py)."""
        weeks = await self._weeks().read(None, per_role, fields, until)
        return WeeklyHistory(weeks.latest, weeks.by_role)

    async def role_totals(self, slugs: Sequence[str]) -> dict[str, Counters]:
        collection = self._database()[ROLLUP_COLLECTIONS[TOTAL]]
        cursor = collection.find({"_id": {"$in": list(slugs)}})
        return {doc["_id"]: decode_payload(doc.get("c")) async for doc in cursor}

    async def role_cells(self, slug: str, metros: Sequence[str | None] | None) -> list[Counters]:
        collection = self._database()[ROLLUP_COLLECTIONS[CELL]]
        if metros is None:
            query: dict[str, Any] = {"role": slug}  # by the `role` index
        else:
            query = {"_id": {"$in": [cell_id(slug, m) for m in metros]}}
        return [decode_payload(doc.get("c")) async for doc in collection.find(query)]

    async def role_skill(self, slug: str, skill: str) -> Counters:
        collection = self._database()[ROLLUP_COLLECTIONS[SKILL]]
        doc = await collection.find_one({"_id": skill_id(slug, skill)})
        return decode_payload(doc.get("c")) if doc else {}

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        out: list[PostingState] = []
        for query in queries:
            # No `hint`: SecantusDB's hinted plans cost ~1.5 ms per key; the queries hold
            # exactly an index's fields, which its planner then picks (rollups.postings_queries).
            cursor = self._database().postings.find(dict(query), {"events": 0})
            async for doc in cursor:
                if doc.get("counted"):
                    out.append(doc_to_state(doc))
                    if len(out) >= limit:
                        return out
        return out

    async def stream_clock(self) -> datetime | None:
        return await stream_time(self._database())

    async def metro_names(self) -> frozenset[str]:
        # Twelve small projections: only the metro maps of the role documents.
        cursor = self._database()[ROLE_AGGREGATES].find({}, {"metros": 1})
        names = {
            decode_key(key)
            async for doc in cursor
            for key, count in (doc.get("metros") or {}).items()
            if isinstance(count, int) and count > 0
        }
        return frozenset(names)

    async def market_counts(
        self, companies: Sequence[str], skills: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        paths = [f"companies.{encode_key(c)}" for c in companies]
        paths += [f"skills.{encode_key(s)}" for s in skills]
        totals: dict[str, dict[str, int]] = {"companies": {}, "skills": {}}
        if paths:
            # Only the named counters of each role document: twelve tiny projections.
            async for doc in self._database()[ROLE_AGGREGATES].find({}, dict.fromkeys(paths, 1)):
                for part, sums in totals.items():
                    for key, count in (doc.get(part) or {}).items():
                        if isinstance(count, int):
                            sums[key] = sums.get(key, 0) + count
        return totals["companies"], totals["skills"]

    def postings(self) -> MongoPostings:
        """The drill-down's reads of `postings` (services/postings_read.py)."""
        return MongoPostings(self._database())

    async def ping(self) -> bool:
        if self._db is None:
            return False
        try:
            await self._db.command("ping")
        except PyMongoError:
            return False
        return True

    def _weeks(self) -> MongoWeeks:
        database = self._database()
        return MongoWeeks(database[ROLE_WEEKLY], database[ROLE_WEEKLY_INDEX])

    def _database(self) -> AsyncDatabase[Any]:
        if self._db is None:
            raise RuntimeError("MongoReadModel used before the app's lifespan attached a database")
        return self._db


def _version_of(change: Mapping[str, Any]) -> int | None:
    """The version an insert or `$inc` set; None if this change left it alone."""
    updated = (change.get("updateDescription") or {}).get("updatedFields") or {}
    version = updated.get("version", (change.get("fullDocument") or {}).get("version"))
    return None if version is None else int(version)


def _snapshot(weekly: Mapping[str, Any]) -> WeeklyDoc:
    # The consumer stores counters (rolepulse.domain.history); figures are derived here.
    keys = {k: weekly[k] for k in ("_id", "role", "week", "week_start") if k in weekly}
    return role_snapshot(weekly) | keys
