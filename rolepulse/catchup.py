"""Wait until the consumer has applied everything up to given partition offsets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

from pymongo import AsyncMongoClient

from rolepulse.connections import mongo_client_kwargs
from rolepulse.settings import MongoSettings


async def wait_consumed(
    mongo: MongoSettings,
    topic: str,
    ends: Mapping[int, int],
    timeout_s: float,
    on_progress: Callable[[int, int], None] | None = None,
) -> None:
    """Poll the offsets the consumer stores with each batch until they reach `ends`.

    Raises TimeoutError naming how far it got, so a stuck pipeline is a clear failure.
    """
    total = sum(ends.values())
    deadline = time.monotonic() + timeout_s
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(**mongo_client_kwargs(mongo))
    try:
        while True:
            done = await _applied(client, mongo.database, topic, ends)
            if on_progress is not None:
                on_progress(done, total)
            if done >= total:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"consumer applied {done} of {total} messages in {timeout_s}s")
            await asyncio.sleep(0.25)
    finally:
        await client.close()


async def _applied(
    client: AsyncMongoClient[dict[str, object]], database: str, topic: str, ends: Mapping[int, int]
) -> int:
    cursor = client[database].consumer_offsets.find({"topic": topic})
    stored = {int(str(d["partition"])): int(str(d["next_offset"])) async for d in cursor}
    return sum(min(stored.get(p, 0), end) for p, end in ends.items())
