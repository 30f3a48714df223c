"""Reads of the weekly history (`role_weekly`) that fetch only the window asked for.

A trend needs, per role, its snapshots of the window and the one standing at the window's start
(rolepulse/domain/trends.py `weeks_to_read`), and the latest week of any role. Which weeks a
role has is kept apart, in `role_weekly_index` (schema/documents.py; the consumer writes it in
the transaction that creates a weekly document), so a read knows them before it touches a
snapshot, and fetches exactly those: one range per role on the `(role, week)` index. Found any
other way, SecantusDB would read more (DESIGN.md; `explain` agrees): `sort week desc, limit 1`
reads the whole range before limiting, `$in` roles plus a range on weeks is a collection scan,
and every document it reads is read whole (a weekly document of a seed-page role holds about
800 counters). With two years of history (1,248 snapshots) reading them all took 0.25 - 0.7 s
a call here, 1.2 - 3.1 s on a busier machine; the window's are 13 a role for 12 weeks
(README, Benchmarks: Weekly history).

Until the consumer has built the index (its `ensure_indexes`; a database only ever written
some other way, as some tests do) the old read stands in: every weekly document, grouped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from rolepulse.domain.trends import weeks_to_read
from rolepulse.schema.documents import WEEK_INDEX_COMPLETE

Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Weeks:
    """Weekly documents of some roles, newest first, and the latest week of any role."""

    latest: str | None  # None before any weekly document
    by_role: dict[str, list[Doc]] = field(default_factory=dict)


class MongoWeeks:
    """Bounded reads of `role_weekly` through its week index (see the module doc)."""

    def __init__(self, weekly: AsyncCollection[Doc], index: AsyncCollection[Doc]) -> None:
        self._weekly = weekly
        self._index = index

    async def read(
        self,
        roles: Sequence[str] | None,
        per_role: int,
        fields: Sequence[str] | None = None,
        until: str | None = None,
    ) -> Weeks:
        """For each of `roles` (None: every role with history), the weekly documents a trend
        of up to `per_role - 1` weeks ending at `until` (default: the latest week of any role)
        needs: at most its newest `per_role` there (`weeks_to_read`). Only `fields` (dotted
        paths) beside `_id`, `role` and `week` when given; whole documents otherwise."""
        projection = None if fields is None else {"role": 1, "week": 1, **dict.fromkeys(fields, 1)}
        index = await self._weeks_by_role()
        if index is None:
            return await self._scan(roles, per_role, projection, until)
        latest = max((weeks[-1] for weeks in index.values() if weeks), default=None)
        end = until or latest
        if end is None:
            return Weeks(latest)
        wanted = {
            role: weeks_to_read(index.get(role, ()), end, per_role)
            for role in (index if roles is None else roles)
        }
        ranges = {role: (weeks[0], weeks[-1]) for role, weeks in wanted.items() if weeks}
        # One round trip per role, all at once: `$in` over roles with a range on weeks would
        # be a collection scan on SecantusDB.
        found = await asyncio.gather(
            *(self._range(role, lo, hi, projection) for role, (lo, hi) in ranges.items())
        )
        return Weeks(latest, {r: docs for r, docs in zip(ranges, found, strict=True) if docs})

    async def _weeks_by_role(self) -> dict[str, list[str]] | None:
        # A dozen small documents: one list of week labels per role.
        docs = await self._index.find({}).to_list()
        if not any(d["_id"] == WEEK_INDEX_COMPLETE for d in docs):
            return None
        return {d["_id"]: list(d["weeks"]) for d in docs if d["_id"] != WEEK_INDEX_COMPLETE}

    async def _range(
        self, role: str, lo: str, hi: str, projection: dict[str, Any] | None
    ) -> list[Doc]:
        query = {"role": role, "week": {"$gte": lo, "$lte": hi}}
        docs = await self._weekly.find(query, projection).to_list()
        return sorted(docs, key=lambda d: str(d["week"]), reverse=True)

    async def _scan(
        self,
        roles: Sequence[str] | None,
        per_role: int,
        projection: dict[str, Any] | None,
        until: str | None,
    ) -> Weeks:
        # Without the index: every weekly document in one `$facet`, each role's newest kept.
        match: dict[str, Any] = {}
        if roles is not None:
            match["role"] = {"$in": list(roles)}
        if until is not None:
            match["week"] = {"$lte": until}
        recent: list[dict[str, Any]] = [{"$match": match}] if match else []
        if projection is not None:
            recent.append({"$project": projection})
        # $topN keeps at most n documents per group in memory, however long the history grows.
        newest = {"$topN": {"n": per_role, "sortBy": {"week": -1}, "output": "$$ROOT"}}
        recent.append({"$group": {"_id": "$role", "docs": newest}})
        latest = [{"$group": {"_id": None, "week": {"$max": "$week"}}}]
        cursor = await self._weekly.aggregate([{"$facet": {"latest": latest, "recent": recent}}])
        (result,) = await cursor.to_list()
        return Weeks(
            result["latest"][0]["week"] if result["latest"] else None,
            {r["_id"]: r["docs"] for r in result["recent"]},
        )
