"""The drill-down's reads of MongoDB: index ranges of `postings`, cluster sizes, the clock.

The engine (services/postings_query.py) decides which ranges; this adapter only runs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pymongo.asynchronous.database import AsyncDatabase

from rolepulse.consumers.store import COLLECTION_OF_KIND, IN_CHUNK, stream_time
from rolepulse.services.postings_query import (
    PAGE_BUDGET,
    Cursor,
    Doc,
    PostingOrder,
    ScanPlan,
    count,
    doc_position,
    scan,
)

# What a page never needs of a posting: its applied-event log (16 ids and digests, most of a
# stored posting's bytes) and the consumer's cluster lookup key.
PROJECTION = {"events": 0, "cluster_slot": 0}


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a connection: postings in order, each with its cursor."""

    docs: list[Doc]
    cursors: list[str]
    has_next: bool
    end_cursor: str | None
    examined: int


class PostingsSource(Protocol):
    """What the drill-down reads; `MongoPostings` over a database, fakes in unit tests."""

    @property
    def scope(self) -> str:
        """Names the store (what the engine learns window widths per)."""
        ...

    async def fetch(self, query: Mapping[str, Any]) -> list[Doc]:
        """The postings one index range holds (a query of `window_query`'s shape)."""
        ...

    async def clock(self) -> datetime | None:
        """The stream clock (consumers/store.py `stream_time`); None before any event."""
        ...

    async def open_cluster_sizes(self, cluster_ids: Sequence[str]) -> dict[str, int]:
        """Open postings per cluster id (clusters without one are absent)."""
        ...

    async def role_counters(self, slugs: Sequence[str], paths: Sequence[str]) -> list[Doc]:
        """The role aggregates of `slugs` that exist, only their counters at `paths`."""
        ...


@runtime_checkable
class HasPostings(Protocol):
    """A read model that can read postings (services/read_model.py MongoReadModel)."""

    def postings(self) -> PostingsSource: ...


class MongoPostings:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._db = database

    @property
    def scope(self) -> str:
        return self._db.name

    async def fetch(self, query: Mapping[str, Any]) -> list[Doc]:
        # One batch: a window holds about a page (the default first batch, 101, would cost a
        # second round trip for a window of a filtered page).
        cursor = self._db.postings.find(dict(query), PROJECTION, batch_size=PAGE_BUDGET)
        return [dict(doc) async for doc in cursor]

    async def clock(self) -> datetime | None:
        return await stream_time(self._db)

    async def role_counters(self, slugs: Sequence[str], paths: Sequence[str]) -> list[Doc]:
        aggregates = self._db[COLLECTION_OF_KIND["role"]]
        cursor = aggregates.find({"_id": {"$in": list(slugs)}}, {path: 1 for path in paths})
        return [dict(doc) async for doc in cursor]

    async def open_cluster_sizes(self, cluster_ids: Sequence[str]) -> dict[str, int]:
        ids = sorted(set(cluster_ids))
        sizes: dict[str, int] = {}
        # Short `$in` lists on the `cluster_id` index (consumers/store.py IN_CHUNK).
        for start in range(0, len(ids), IN_CHUNK):
            query = {"cluster_id": {"$in": ids[start : start + IN_CHUNK]}}
            async for doc in self._db.postings.find(query, {"cluster_id": 1, "open": 1}):
                if doc.get("open") is True:
                    sizes[doc["cluster_id"]] = sizes.get(doc["cluster_id"], 0) + 1
        return sizes


async def read_page(
    source: PostingsSource,
    plan: ScanPlan,
    after: Cursor | None,
    first: int,
    clock: datetime | None,
    *,
    budget: int = PAGE_BUDGET,
    pay_counts: Mapping[int, int] | None = None,
) -> Page:
    """The `first` postings after `after`, and whether (and from where) more may follow.

    One more than `first` is looked for, so `hasNextPage` is exact when the page is full; a page
    that stopped at its budget (PAGE_BUDGET) says more may follow and ends its cursor where the
    scan stopped, which may lie past its last posting.
    """
    result = await scan(
        source.fetch,
        plan,
        after,
        first + 1,
        clock,
        budget=budget,
        pay_counts=pay_counts,
        scope=source.scope,
    )
    docs = result.matches[:first]
    order: PostingOrder = plan.order
    cursors = [Cursor(order, doc_position(d, order), result.width).encode() for d in docs]
    if len(result.matches) > first:
        return Page(docs, cursors, True, cursors[-1], result.examined)
    if result.stopped_at is not None:
        end = Cursor(order, result.stopped_at, result.width).encode()
        return Page(docs, cursors, True, end, result.examined)
    return Page(docs, cursors, False, cursors[-1] if cursors else None, result.examined)


async def count_matches(
    source: PostingsSource,
    plan: ScanPlan,
    clock: datetime | None,
    pay_counts: Mapping[int, int] | None = None,
) -> tuple[int, bool]:
    """(matching postings, exact) within the count's cap and budget (services/postings_query)."""
    return await count(source.fetch, plan, clock, pay_counts=pay_counts)
