"""The expiry sweeper process: publishes expiry events for postings not re-observed in time."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from consumers.documents import as_utc
from consumers.store import stream_time
from rolepulse.domain.expiry import OpenPosting, expiry_events
from rolepulse.publish import event_key
from rolepulse.settings import KafkaSettings, MongoSettings, SweeperSettings

log = logging.getLogger("rolepulse.sweeper")


async def sweep_once(
    db: AsyncDatabase[dict[str, Any]],
    producer: Any,
    kafka: KafkaSettings,
    settings: SweeperSettings,
) -> int:
    """Publish one expiry event per expired open posting; returns how many were published."""
    now = await _now(db, settings)
    if now is None:
        return 0  # no event applied yet: stream time has not started
    window = timedelta(days=settings.expiry_days)
    cursor = db.postings.find(
        {"open": True, "last_observed_at": {"$lt": now - window}},
        {"source": 1, "source_id": 1, "last_observed_at": 1},
    )
    candidates = [
        OpenPosting(d["source"], d["source_id"], as_utc(d["last_observed_at"]))
        async for d in cursor
    ]
    events = expiry_events(candidates, now, window)
    futures = []
    for e in events:
        raw = json.dumps(e, separators=(",", ":")).encode()
        futures.append(await producer.send(kafka.topic, value=raw, key=event_key(raw)))
    await asyncio.gather(*futures)
    if events:
        log.info("published %d expiry events (now=%s, window=%s)", len(events), now, window)
    return len(events)


async def run_sweeper(
    kafka: KafkaSettings, mongo: MongoSettings, settings: SweeperSettings, stop: asyncio.Event
) -> None:
    """Sweep every `settings.interval_s` until `stop` is set."""
    async with _clients(kafka, mongo) as (db, producer):
        while not stop.is_set():
            await sweep_once(db, producer, kafka, settings)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.interval_s)


async def sweep_once_with_clients(
    kafka: KafkaSettings, mongo: MongoSettings, settings: SweeperSettings
) -> int:
    async with _clients(kafka, mongo) as (db, producer):
        return await sweep_once(db, producer, kafka, settings)


@contextlib.asynccontextmanager
async def _clients(
    kafka: KafkaSettings, mongo: MongoSettings
) -> AsyncIterator[tuple[AsyncDatabase[dict[str, Any]], AIOKafkaProducer]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri, tz_aware=True)
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_idempotence=kafka.enable_idempotence,
        acks="all",
    )
    await producer.start()
    try:
        yield client[mongo.database], producer
    finally:
        await producer.stop()
        await client.close()


async def _now(db: AsyncDatabase[dict[str, Any]], settings: SweeperSettings) -> datetime | None:
    if settings.clock == "wall":
        return datetime.now(UTC)
    return await stream_time(db)
