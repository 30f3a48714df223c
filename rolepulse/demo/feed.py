"""Lay planned postings out as a feed a real scraper fleet could produce.

Observations are spread over the four weeks before a fixed base date (never the wall clock), some
postings are seen again later under a new event id, some are closed after they were seen, and a
few hundred events are delivered twice verbatim a little later in the stream, as an at-least-once
producer does. The list is in time order, except that a redelivery trails its original.
"""

from __future__ import annotations

import copy
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rolepulse.demo.render import SOURCES, Json, Plan, SourceIds, posting, stamp

BASE = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW = timedelta(days=28)
SOURCE_WEIGHTS = (30, 15, 20, 25, 10)  # greenhouse, lever, indeed, linkedin, careers-page
MAX_REDELIVERY_LAG = 40  # events between an original and its verbatim duplicate


@dataclass(frozen=True, slots=True)
class FeedShape:
    reobserved: int  # open postings seen again later under a new event id
    duplicated: int  # events delivered twice with the same event id


def build(
    open_plans: list[Plan], closed_plans: list[Plan], shape: FeedShape, rng: random.Random
) -> list[Json]:
    """Every event of the feed: open and closed postings, re-observations and redeliveries."""
    ids = SourceIds(rng)
    first_seen = [_observe(plan, ids, rng) for plan in open_plans]
    timed = [(seen.at, seen.event) for seen in first_seen]
    for seen in rng.sample(first_seen, shape.reobserved):
        at = _between(seen.at, BASE, rng)
        timed.append((at, _event("posting.observed", at, seen.source, _copy(seen.body), rng)))
    for plan in closed_plans:
        seen = _observe(plan, ids, rng)
        at = _between(seen.at, BASE, rng)
        closed = {"source_id": seen.body["source_id"]}
        timed += [
            (seen.at, seen.event),
            (at, _event("posting.closed", at, seen.source, closed, rng)),
        ]
    timed.sort(key=lambda pair: pair[0])  # stable: equal times keep creation order
    return _redeliver([event for _, event in timed], shape.duplicated, rng)


@dataclass(frozen=True, slots=True)
class _Seen:
    """A posting's first observation."""

    at: datetime
    source: str
    body: Json
    event: Json


def _observe(plan: Plan, ids: SourceIds, rng: random.Random) -> _Seen:
    source = rng.choices(SOURCES, weights=SOURCE_WEIGHTS)[0]
    # Leave a day at the end so every re-observation and close can happen strictly later.
    at = BASE - WINDOW + timedelta(seconds=rng.randrange(int((WINDOW.days - 1) * 86_400)))
    body = posting(plan, source, ids.next(source), at, rng)
    return _Seen(at, source, body, _event("posting.observed", at, source, body, rng))


def _copy(body: Json) -> Json:
    return copy.deepcopy(body)  # each event owns its data, as if parsed from its own message


def _event(kind: str, at: datetime, source: str, body: Json, rng: random.Random) -> Json:
    return {
        "version": 1,
        "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": kind,
        "occurred_at": stamp(at),
        "source": source,
        "posting": body,
    }


def _between(after: datetime, before: datetime, rng: random.Random) -> datetime:
    """A whole second strictly after `after` and no later than `before`."""
    span = int((before - after).total_seconds())
    return after + timedelta(seconds=rng.randrange(1, span + 1))


def _redeliver(events: list[Json], count: int, rng: random.Random) -> list[Json]:
    picked = set(rng.sample(range(len(events)), count))
    due: dict[int, list[Json]] = {}
    out: list[Json] = []
    for i, event in enumerate(events):
        out.append(event)
        if i in picked:
            due.setdefault(i + rng.randrange(1, MAX_REDELIVERY_LAG), []).append(
                copy.deepcopy(event)
            )
        out += due.pop(i, [])
    for i in sorted(due):  # duplicates due after the last event trail the stream
        out += due[i]
    return out
