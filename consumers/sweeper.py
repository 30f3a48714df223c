"""The expiry sweeper process: publishes expiry events for postings not re-observed in time.

Two collections of its own make a sweep safe to repeat and to run on a bad clock:
- `expiry_published`: one document per expiry event published, written after the broker acked
  it, so a posting whose expiry still waits in the topic is skipped. A crash between publish and
  record only means the next sweep publishes it again, and the consumer applies an id once.
  Entries go once their posting is no longer due (expiry applied, posting re-observed), or by
  TTL as a backstop.
- `sweeps`: what each publishing sweep did per role, for `rolepulse verify` to flag a role that
  one sweep emptied (a recomputation cannot see that: every posting really is closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pymongo import AsyncMongoClient, ReplaceOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from rolepulse.connections import kafka_client_kwargs, mongo_client_kwargs, start_kafka_client
from rolepulse.consumers.documents import as_utc
from rolepulse.consumers.store import stream_time
from rolepulse.domain.expiry import (
    OpenPosting,
    Refusal,
    expired,
    expiry_event_id,
    expiry_events,
    refuse_sweep,
    role_tally,
    unpublished,
)
from rolepulse.publish import event_key
from rolepulse.settings import KafkaSettings, MongoSettings, SweeperSettings

log = logging.getLogger("rolepulse.sweeper")

Db = AsyncDatabase[dict[str, Any]]
EXPIRY_PUBLISHED = "expiry_published"
SWEEPS = "sweeps"
# How long the sweeper's records live: verify looks back this far for a sweep that emptied a role,
# bounded so the log of a sweeper publishing every minute stays small. For `expiry_published` it
# is only a backstop: sweeps delete a record as soon as its posting is no longer due.
RECORDS_KEPT = timedelta(days=90)
# `$in` lists stay short: SecantusDB matches each document against the whole list (DESIGN.md).
DELETE_CHUNK = 100


@dataclass(frozen=True, slots=True)
class SweepResult:
    published: int
    pending: int = 0  # due, but published earlier and still waiting in the topic
    refused: str | None = None  # why nothing was published, when over the share limit


async def sweep_once(
    db: Db, producer: Any, kafka: KafkaSettings, settings: SweeperSettings
) -> SweepResult:
    """Publish one expiry event per expired open posting not already waiting in the topic."""
    now = await _now(db, settings)
    if now is None:
        return SweepResult(0)  # no event applied yet: stream time has not started
    window = timedelta(days=settings.expiry_days)
    due = expired(await _candidates(db, now - window), now, window)
    wall = datetime.now(UTC)
    recorded = await _published_at(db)
    await _forget(db, set(recorded) - {expiry_event_id(p) for p in due})
    todo = unpublished(due, recorded, wall, timedelta(seconds=settings.republish_after_s))
    pending = len(due) - len(todo)
    if not todo:
        return SweepResult(0, pending)
    open_by_role = await _open_by_role(db)
    refusal = refuse_sweep(len(todo), sum(open_by_role.values()), settings.max_expire_share)
    if refusal is not None and not settings.force:
        message = _refusal_message(refusal, now, settings)
        log.error(message)
        return SweepResult(0, pending, refused=message)
    events = expiry_events(todo, now, window)
    await _publish(producer, kafka, events)
    # Only after every ack: a record must never stand for an event the broker does not hold.
    await _remember(db, todo, wall)
    await _log_sweep(db, todo, open_by_role, wall, now, forced=refusal is not None)
    log.info(
        "published %d expiry events (now=%s, window=%s, %d still waiting in the topic)",
        len(events), now, window, pending,
    )  # fmt: skip
    return SweepResult(len(events), pending)


async def run_sweeper(
    kafka: KafkaSettings, mongo: MongoSettings, settings: SweeperSettings, stop: asyncio.Event
) -> None:
    """Sweep every `settings.interval_s` until `stop` is set.

    A pass that fails because the database or the broker is unreachable is logged and tried
    again at the next interval: an outage must not end the process (the clients reconnect).
    """
    async with _clients(kafka, mongo) as (db, producer):
        while not stop.is_set():
            try:
                await sweep_once(db, producer, kafka, settings)
            except (PyMongoError, KafkaError) as exc:
                log.warning("sweep failed, retrying in %.0fs: %r", settings.interval_s, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=settings.interval_s)


async def sweep_once_with_clients(
    kafka: KafkaSettings, mongo: MongoSettings, settings: SweeperSettings
) -> SweepResult:
    async with _clients(kafka, mongo) as (db, producer):
        return await sweep_once(db, producer, kafka, settings)


async def ensure_indexes(db: Db) -> None:
    # TTL on an explicit expiry time (expireAfterSeconds=0), so changing a setting never
    # conflicts with the options of an existing index.
    await db[EXPIRY_PUBLISHED].create_index([("expire_at", 1)], expireAfterSeconds=0)
    await db[SWEEPS].create_index([("expire_at", 1)], expireAfterSeconds=0)


@contextlib.asynccontextmanager
async def _clients(
    kafka: KafkaSettings, mongo: MongoSettings
) -> AsyncIterator[tuple[Db, AIOKafkaProducer]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        **mongo_client_kwargs(mongo), tz_aware=True
    )
    producer = AIOKafkaProducer(
        **kafka_client_kwargs(kafka),
        enable_idempotence=kafka.enable_idempotence,
        acks="all",
    )
    try:
        # Inside the try: a broker that cannot be reached must still leave both clients closed.
        await start_kafka_client(producer, kafka)
        db = client[mongo.database]
        await ensure_indexes(db)
        yield db, producer
    finally:
        await producer.stop()
        await client.close()


async def _now(db: Db, settings: SweeperSettings) -> datetime | None:
    if settings.clock == "wall":
        return datetime.now(UTC)
    return await stream_time(db)


async def _candidates(db: Db, before: datetime) -> list[OpenPosting]:
    cursor = db.postings.find(
        {"open": True, "last_observed_at": {"$lt": before}},
        {"source": 1, "source_id": 1, "last_observed_at": 1, "role": 1},
    )
    return [
        OpenPosting(d["source"], d["source_id"], as_utc(d["last_observed_at"]), d.get("role"))
        async for d in cursor
    ]


async def _open_by_role(db: Db) -> dict[str | None, int]:
    pipeline: list[dict[str, Any]] = [
        {"$match": {"open": True}},
        {"$group": {"_id": "$role", "n": {"$sum": 1}}},
    ]
    return {d["_id"]: int(d["n"]) async for d in await db.postings.aggregate(pipeline)}


async def _published_at(db: Db) -> dict[str, datetime]:
    cursor = db[EXPIRY_PUBLISHED].find({}, {"published_at": 1})
    return {d["_id"]: as_utc(d["published_at"]) async for d in cursor}


async def _forget(db: Db, event_ids: Iterable[str]) -> None:
    """Drop records of expiries no longer due: applied, or the posting was observed again."""
    ids = sorted(event_ids)
    for i in range(0, len(ids), DELETE_CHUNK):
        await db[EXPIRY_PUBLISHED].delete_many({"_id": {"$in": ids[i : i + DELETE_CHUNK]}})


async def _publish(producer: Any, kafka: KafkaSettings, events: list[dict[str, Any]]) -> None:
    futures = []
    for e in events:
        raw = json.dumps(e, separators=(",", ":")).encode()
        futures.append(await producer.send(kafka.topic, value=raw, key=event_key(raw)))
    await asyncio.gather(*futures)


async def _remember(db: Db, published: list[OpenPosting], wall: datetime) -> None:
    expire_at = wall + RECORDS_KEPT
    ops = [
        ReplaceOne(
            {"_id": expiry_event_id(p)},
            {"posting": f"{p.source}:{p.source_id}", "published_at": wall, "expire_at": expire_at},
            upsert=True,
        )
        for p in published
    ]
    await db[EXPIRY_PUBLISHED].bulk_write(ops, ordered=False)


async def _log_sweep(
    db: Db,
    published: list[OpenPosting],
    open_by_role: dict[str | None, int],
    wall: datetime,
    clock: datetime,
    forced: bool,
) -> None:
    roles = role_tally(published, open_by_role)
    await db[SWEEPS].insert_one(
        {
            "at": wall,
            "clock": clock,
            "forced": forced,
            "open": sum(open_by_role.values()),
            "expired": len(published),
            "roles": {r: {"open": t.open, "expired": t.expired} for r, t in roles.items()},
            "expire_at": wall + RECORDS_KEPT,
        }
    )


def _refusal_message(refusal: Refusal, clock: datetime, settings: SweeperSettings) -> str:
    return (
        f"sweep refused: it would expire {refusal.expiring} of {refusal.open_postings} open "
        f"postings ({refusal.share:.1%}, limit {refusal.max_share:.1%} "
        f"ROLEPULSE_SWEEPER_MAX_EXPIRE_SHARE) on the {settings.clock} clock "
        f"{clock.isoformat()} with a {settings.expiry_days:g}-day window; nothing published. "
        "Check the clock (`rolepulse verify`); if the expiries are right, run "
        "`rolepulse sweep --once --force` (or set ROLEPULSE_SWEEPER_FORCE=true)"
    )
