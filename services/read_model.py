"""The API's port onto the aggregate read model, and its MongoDB adapter.

Resolvers only ever read the documents the consumer keeps (`role_aggregates`,
`market_aggregates`, `role_weekly`); they never touch `postings`, so every request is a couple of
small reads.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from rolepulse.domain.aggregates import MARKET_DOC
from rolepulse.domain.history import role_snapshot
from rolepulse.schema.documents import (
    DATA_VERSION_COLLECTION,
    DATA_VERSION_ID,
    MarketAggregateDoc,
    RoleAggregateDoc,
)
from rolepulse.services.data_version import PushUnavailableError

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
        """The latest `per_role` weekly snapshots of each given role, in one read."""
        ...

    async def ping(self) -> bool:
        """True when the backing store answers."""
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
        # One round trip: the global latest week (so every role's trend ends on the same week,
        # carried forward if the role did not change) and each role's newest snapshots. `week`
        # labels "YYYY-Www" sort chronologically as strings.
        pipeline: list[dict[str, Any]] = [
            {
                "$facet": {
                    "latest": [{"$group": {"_id": None, "week": {"$max": "$week"}}}],
                    "recent": [
                        {"$match": {"role": {"$in": list(slugs)}}},
                        {"$group": {"_id": "$role", "docs": _newest(per_role)}},
                    ],
                }
            }
        ]
        cursor = await self._database()[ROLE_WEEKLY].aggregate(pipeline)
        (result,) = await cursor.to_list()
        latest = result["latest"][0]["week"] if result["latest"] else None
        by_role = {r["_id"]: [_snapshot(d) for d in r["docs"]] for r in result["recent"]}
        return WeeklyHistory(latest, by_role)

    async def ping(self) -> bool:
        if self._db is None:
            return False
        try:
            await self._db.command("ping")
        except PyMongoError:
            return False
        return True

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


def _newest(n: int) -> dict[str, Any]:
    # $topN keeps at most n documents per group in memory, however long the history grows.
    return {"$topN": {"n": n, "sortBy": {"week": -1}, "output": "$$ROOT"}}
