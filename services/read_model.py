"""The API's port onto the aggregate read model, and its MongoDB adapter.

Resolvers only ever read the documents the consumer keeps (`role_aggregates`,
`market_aggregates`); they never touch `postings`, so every request is a couple of O(1) reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from rolepulse.domain.aggregates import MARKET_DOC
from schema.documents import MarketAggregateDoc, RoleAggregateDoc

ROLE_AGGREGATES = "role_aggregates"
MARKET_AGGREGATES = "market_aggregates"


class ReadModel(Protocol):
    """What the GraphQL layer reads. Missing documents are simply absent / empty, never errors."""

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        """Aggregate documents of the given role slugs that exist, keyed by slug."""
        ...

    async def market(self) -> MarketAggregateDoc:
        """The market document; `{}` before the consumer has written anything."""
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
