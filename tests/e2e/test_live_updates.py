"""Live updates from `rolepulse serve` over a real websocket, with the `gql` client.

The API process follows the data version on real SecantusDB by its change stream, as it does in
production; nothing couples it to the writer. The first test commits as the consumer does (the
figures and the version bump in one transaction) and measures each push from the commit's
acknowledgement; the second runs the real consumer over Kafka and measures from the moment a
change stream of the test's own sees the consumer's bump.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Callable
from contextlib import suppress
from typing import Any, Protocol

import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rolepulse.consumers.main import run_consumer
from rolepulse.domain.aggregates import MARKET_DOC
from rolepulse.publish import publish_lines
from rolepulse.schema.documents import DATA_VERSION_COLLECTION, DATA_VERSION_ID
from rolepulse.services.read_model import MARKET_AGGREGATES, ROLE_AGGREGATES
from rolepulse.settings import ConsumerSettings, KafkaSettings, MongoSettings

PUSH_WITHIN_S = 1.0  # the issue's bound, from the commit to the subscriber
QUIET_S = 1.5  # no message within this: none is coming for that commit

LLM = "llm-engineer"
PM = "ai-product-manager"
ROLE = GraphQLRequest(
    "subscription Live($slug: String!) { roleUpdated(slug: $slug) { slug openPositions } }",
    variable_values={"slug": LLM},
)
MARKET = GraphQLRequest("subscription { marketUpdated { openPositions } }")


class Api(Protocol):  # tests/e2e/conftest.py's ApiProcess (a conftest cannot be imported)
    url: str

    def log_text(self) -> str: ...


StartApi = Callable[..., Api]


@pytest.fixture
async def database(mongo_settings: MongoSettings) -> AsyncIterator[AsyncDatabase[Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_settings.uri, timeoutMS=5_000)
    try:
        yield client[mongo_settings.database]
    finally:
        await client.close()


def client(api: Api) -> Client:
    url = api.url.replace("http://", "ws://") + "/graphql"
    transport = WebsocketsTransport(
        url=url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL], close_timeout=2
    )
    return Client(transport=transport)


async def commit(db: AsyncDatabase[Any], roles: dict[str, int]) -> float:
    """A batch commit as the consumer makes it: figures and the version bump in one transaction.

    Returns when it is acknowledged (monotonic clock): the moment the bump is committed.
    """
    async with db.client.start_session() as session, await session.start_transaction():
        for slug, open_positions in roles.items():
            await db[ROLE_AGGREGATES].update_one(
                {"_id": slug}, {"$set": {"open": open_positions}}, upsert=True, session=session
            )
        await db[MARKET_AGGREGATES].update_one(
            {"_id": MARKET_DOC}, {"$inc": {"open_ai": len(roles)}}, upsert=True, session=session
        )
        await db[DATA_VERSION_COLLECTION].update_one(
            {"_id": DATA_VERSION_ID}, {"$inc": {"version": 1}}, upsert=True, session=session
        )
    return time.monotonic()


async def next_within(stream: AsyncIterator[dict[str, Any]], seconds: float) -> dict[str, Any]:
    return await asyncio.wait_for(anext(stream), seconds)


async def test_a_commit_is_pushed_within_a_second_and_only_to_who_asked(
    start_api: StartApi, database: AsyncDatabase[Any]
) -> None:
    await commit(database, {LLM: 10, PM: 20})
    api = start_api()
    async with client(api) as session:
        role = session.subscribe(ROLE)
        market = session.subscribe(MARKET)
        # The first event is the current value.
        assert await next_within(role, 5) == {"roleUpdated": {"slug": LLM, "openPositions": 10}}
        assert await next_within(market, 5) == {"marketUpdated": {"openPositions": 2}}

        latencies = []
        for n in range(11, 31):
            committed = await commit(database, {LLM: n})
            update = await next_within(role, 5)
            latencies.append(time.monotonic() - committed)
            assert update == {"roleUpdated": {"slug": LLM, "openPositions": n}}
            await next_within(market, 5)  # the market moved too; keep its stream current

        # Another role's commit: the market subscriber hears of it, the role subscriber not.
        await commit(database, {PM: 21})
        assert (await next_within(market, 5))["marketUpdated"]["openPositions"] == 23
        pending = asyncio.ensure_future(anext(role))
        await asyncio.sleep(QUIET_S)
        assert not pending.done(), "a commit of another role was pushed"
        await commit(database, {LLM: 31})
        assert await asyncio.wait_for(pending, 5) == {
            "roleUpdated": {"slug": LLM, "openPositions": 31}
        }
        await role.aclose()
        await market.aclose()

    p50, worst = statistics.median(latencies), max(latencies)
    print(
        f"\npush latency from commit over {len(latencies)} commits: p50 {p50 * 1000:.0f} ms, "
        f"max {worst * 1000:.0f} ms"
    )
    assert worst < PUSH_WITHIN_S, latencies


def observed(eid: str, sid: str, title: str, location: str = "New York, NY") -> bytes:
    return json.dumps(
        {
            "version": 1,
            "event_id": eid,
            "event_type": "posting.observed",
            "occurred_at": "2026-11-01T10:00:00Z",
            "source": "greenhouse",
            "posting": {
                "source_id": sid,
                "title": title,
                "company": "Google LLC",
                "location": location,
                "description": "Build RAG systems in Python on AWS.",
                "salary": {"min": 150000, "max": 210000, "currency": "USD", "period": "year"},
            },
        }
    ).encode()


class Bumps:
    """The data version's commits as a change stream of the test's own sees them (monotonic)."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}

    async def follow(self, db: AsyncDatabase[Any], ready: asyncio.Event) -> None:
        stream = await db[DATA_VERSION_COLLECTION].watch(max_await_time_ms=100)
        async with stream:
            ready.set()
            while stream.alive:
                change = await stream.try_next()
                if change is None:
                    continue
                fields = (change.get("updateDescription") or {}).get("updatedFields") or {}
                version = fields.get("version", (change.get("fullDocument") or {}).get("version"))
                if version is not None:
                    self.seen[int(version)] = time.monotonic()

    async def after(self, count: int, seconds: float = 60) -> float:
        """When the bump that brought the number of bumps seen to `count` was seen."""
        deadline = time.monotonic() + seconds
        while len(self.seen) < count:
            assert time.monotonic() < deadline, f"{len(self.seen)} of {count} bumps seen"
            await asyncio.sleep(0.01)
        return sorted(self.seen.values())[count - 1]


async def test_the_consumers_commit_is_pushed_from_kafka_to_the_subscriber(
    start_api: StartApi,
    database: AsyncDatabase[Any],
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
) -> None:
    api = start_api()
    bumps, watching = Bumps(), asyncio.Event()
    follower = asyncio.create_task(bumps.follow(database, watching))
    stop = asyncio.Event()
    consumer = asyncio.create_task(
        run_consumer(kafka_settings, mongo_settings, ConsumerSettings(), stop)
    )
    selection = "slug openPositions salary { n }"
    request = GraphQLRequest(f'subscription {{ roleUpdated(slug: "{LLM}") {{ {selection} }} }}')
    in_new_york = GraphQLRequest(
        "subscription ($f: PostingFilter) "
        f'{{ roleUpdated(slug: "{LLM}", filter: $f) {{ {selection} }} }}',
        variable_values={"f": {"metros": ["new-york"]}},
    )
    try:
        await asyncio.wait_for(watching.wait(), 10)
        async with client(api) as session:
            role = session.subscribe(request)
            first = await next_within(role, 5)
            assert first["roleUpdated"]["openPositions"] == 0  # nothing consumed yet
            # The same role filtered: the same resolver as `role(slug, filter)`.
            filtered = session.subscribe(in_new_york)
            assert (await next_within(filtered, 5))["roleUpdated"]["openPositions"] == 0

            await publish_lines([observed("e1", "s1", "Senior LLM Engineer")], kafka_settings)
            update = await next_within(role, 60)  # the consumer's group join takes seconds
            received = time.monotonic()
            assert update["roleUpdated"]["openPositions"] == 1
            assert update["roleUpdated"]["salary"]["n"] == 1
            lags = [received - await bumps.after(1)]
            assert (await next_within(filtered, 5))["roleUpdated"]["openPositions"] == 1

            # A posting of another role: committed and bumped, and nothing for this subscriber.
            await publish_lines([observed("e2", "s2", "AI Product Manager")], kafka_settings)
            pending = asyncio.ensure_future(anext(role))
            await bumps.after(2)
            await asyncio.sleep(QUIET_S)
            assert not pending.done(), "a posting of another role was pushed"
            other = await database[ROLE_AGGREGATES].find_one({"_id": PM})
            assert other is not None
            assert other["open"] == 1  # it did change that role

            # This role, outside the filter: the whole role moves, the New York slice does not.
            in_new_york_next = asyncio.ensure_future(anext(filtered))
            await publish_lines(
                [observed("e3", "s3", "LLM Engineer", "Austin, TX")], kafka_settings
            )
            update = await asyncio.wait_for(pending, 30)
            received = time.monotonic()
            assert update["roleUpdated"]["openPositions"] == 2
            lags.append(received - await bumps.after(3))
            await asyncio.sleep(QUIET_S)
            assert not in_new_york_next.done(), "a posting outside the filter was pushed"
            in_new_york_next.cancel()  # gql then completes that subscription
            with suppress(asyncio.CancelledError):
                await in_new_york_next
            await role.aclose()
    finally:
        stop.set()
        await asyncio.wait_for(consumer, 30)
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
    print(f"\npush latency from the consumer's bump: {[f'{x * 1000:.0f} ms' for x in lags]}")
    assert max(lags) < PUSH_WITHIN_S, lags
