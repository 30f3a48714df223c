"""The API hears of a commit by a change stream on real SecantusDB, with polling switched off.

The poll interval is an hour, so anything seen within a second came by push.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rolepulse.domain.aggregates import MARKET_DOC
from rolepulse.schema.documents import DATA_VERSION_COLLECTION, DATA_VERSION_ID
from rolepulse.services.data_version import DataVersion
from rolepulse.services.main import build_app
from rolepulse.services.read_model import MARKET_AGGREGATES, MongoReadModel
from rolepulse.settings import ApiSettings, MongoSettings

NO_POLLING_S = 3600.0
MARKET_QUERY = {"query": "{ market { postingsSeen } }"}


@pytest.fixture
async def database(mongo_settings: MongoSettings) -> AsyncIterator[AsyncDatabase[Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_settings.uri, timeoutMS=5_000)
    try:
        yield client[mongo_settings.database]
    finally:
        await client.close()


async def commit(db: AsyncDatabase[Any], seen: int) -> float:
    """A batch commit as the consumer makes it: figures and version bump in one transaction."""
    async with db.client.start_session() as session, await session.start_transaction():
        await db[MARKET_AGGREGATES].update_one(
            {"_id": MARKET_DOC}, {"$set": {"seen": seen}}, upsert=True, session=session
        )
        await db[DATA_VERSION_COLLECTION].update_one(
            {"_id": DATA_VERSION_ID}, {"$inc": {"version": 1}}, upsert=True, session=session
        )
    return time.monotonic()


async def within(seconds: float, check: Callable[[], Awaitable[bool]]) -> float:
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < seconds, f"not seen within {seconds}s"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_commit_is_pushed_within_a_second(database: AsyncDatabase[Any]) -> None:
    reads = 0
    model = MongoReadModel(database)

    async def counted_read() -> int | None:
        nonlocal reads
        reads += 1
        return await model.data_version()

    version = DataVersion(counted_read, NO_POLLING_S, watch=model.watch_data_version)
    async with version.running():

        async def known() -> bool:
            return version.current == 0

        await within(5, known)
        for expected in (1, 2, 3):
            await commit(database, expected)

            async def caught_up(expected: int = expected) -> bool:
                return version.current == expected

            await within(1.0, caught_up)
    assert version.mode == "push"
    assert reads == 1  # once when the stream opened; every commit after that came by push


async def test_a_dropped_version_collection_is_read_again(database: AsyncDatabase[Any]) -> None:
    model = MongoReadModel(database)
    version = DataVersion(model.data_version, NO_POLLING_S, watch=model.watch_data_version)
    for n in range(3):
        await commit(database, n)
    async with version.running():

        async def at_three() -> bool:
            return version.current == 3

        await within(5, at_three)
        await database.drop_collection(DATA_VERSION_COLLECTION)  # a reset starts again at 0

        async def reset() -> bool:
            return version.current == 0

        await within(2, reset)


async def test_the_api_serves_a_commit_within_a_second(
    mongo_settings: MongoSettings, database: AsyncDatabase[Any]
) -> None:
    await commit(database, 10)
    app = build_app(ApiSettings(cache_poll_s=NO_POLLING_S), mongo_settings, {})
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:

            async def seen(n: int) -> bool:
                response = await http.post("/graphql", json=MARKET_QUERY)
                return bool(response.json()["data"]["market"]["postingsSeen"] == n)

            await within(5, lambda: seen(10))
            await seen(10)  # now answered from the cache
            await commit(database, 11)
            lag = await within(1.0, lambda: seen(11))
    assert lag < 1.0
