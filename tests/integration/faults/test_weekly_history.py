"""Weekly history depends on event times only, never on how partitions were drained.

A market spread over three weeks, with late and out-of-order deliveries, is consumed from four
partitions in batches of 200 (so batches run ahead in some partitions while others lag). Every
week's stored figures must equal rolepulse/reference.py's computation over the events that
happened by the end of that week.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from pymongo import AsyncMongoClient

from rolepulse.domain.history import week_monday_utc
from rolepulse.domain.normalize import Normalizer
from rolepulse.reference import Figures, expected
from rolepulse.settings import KafkaSettings, MongoSettings

Doc = dict[str, Any]
WEEK = timedelta(weeks=1)


async def test_replay_in_small_batches_over_four_partitions_gives_event_time_history(
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    consume_all: Callable[..., Awaitable[dict[int, int]]],
    ev: ModuleType,
    normalizer: Normalizer,
    role_figures: Callable[[Doc], Figures],
) -> None:
    stream = ev.market(seed=81, postings=400, spread=timedelta(weeks=3))
    assert kafka_settings.partitions == 4
    await consume_all(kafka_settings, mongo_settings, stream, max_batch=200)

    weekly = await _weekly_docs(mongo_settings)
    weeks = sorted({w for docs in weekly.values() for w in docs})
    assert len(weeks) >= 4, weeks
    for week in weeks:
        end = week_monday_utc(week) + WEEK
        by_then = [raw for raw in stream if _occurred_at(raw) < end]
        want = _trend_fields(expected(by_then, normalizer).figures)
        figures = {
            "roles": {role: role_figures(_as_of(docs, week)) for role, docs in weekly.items()}
        }
        have = {role: f for role, f in _trend_fields(figures).items() if f["open"] > 0}
        assert have == want, f"week {week}"


async def _weekly_docs(mongo: MongoSettings) -> dict[str, dict[str, Doc]]:
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo.uri, tz_aware=True)
    try:
        out: dict[str, dict[str, Doc]] = {}
        async for doc in client[mongo.database].role_weekly.find({}):
            out.setdefault(doc["role"], {})[doc["week"]] = doc
        return out
    finally:
        await client.close()


def _as_of(docs: dict[str, Doc], week: str) -> Doc:
    """A role's figures at the end of `week`: its latest weekly document up to then."""
    earlier = [w for w in docs if w <= week]
    return docs[max(earlier)] if earlier else {}


def _occurred_at(raw: bytes) -> datetime:
    return datetime.fromisoformat(json.loads(raw)["occurred_at"])


def _trend_fields(figures: Figures) -> dict[str, Figures]:
    keep = ("open", "work_mode", "seniority", "salary")
    return {role: {k: f[k] for k in keep} for role, f in figures["roles"].items()}
