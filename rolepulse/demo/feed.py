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
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rolepulse.demo.render import SOURCES, Json, Plan, SourceIds, board_url, posting, stamp

BASE = datetime(2026, 11, 2, tzinfo=UTC)
WINDOW = timedelta(days=28)
SOURCE_WEIGHTS = (30, 15, 20, 25, 10)  # greenhouse, lever, indeed, linkedin, careers-page
MAX_REDELIVERY_LAG = 40  # events between an original and its verbatim duplicate


@dataclass(frozen=True, slots=True)
class FeedShape:
    reobserved: int  # open postings seen again later under a new event id
    duplicated: int  # events delivered twice with the same event id
    cross_posted: int  # open jobs also posted on a second board (one cluster, counted once)


ClusterKey = Callable[[str, Json], str | None]  # (source, posting body) -> the normalizer's key


def build(
    open_plans: list[Plan],
    closed_plans: list[Plan],
    shape: FeedShape,
    rng: random.Random,
    cluster_key: ClusterKey,
) -> list[Json]:
    """Every event of the feed: open and closed postings, re-observations, cross-posts on a
    second board, and redeliveries.

    Each job goes to the board its cluster key hashes to, so two different requisitions that look
    alike (same company, title and metro) are never taken for one job posted on two boards; only
    the deliberate cross-posts are.
    """
    boards = _Boards(SourceIds(rng), cluster_key)
    first_seen = [_observe(plan, boards, rng) for plan in open_plans]
    closed_seen = [_observe(plan, boards, rng) for plan in closed_plans]
    timed = [(seen.at, seen.event) for seen in first_seen]
    for seen in rng.sample(first_seen, shape.reobserved):
        at = _between(seen.at, BASE, rng)
        timed.append((at, _event("posting.observed", at, seen.source, _copy(seen.body), rng)))
    timed += _cross_posts(first_seen, boards, shape.cross_posted, rng)
    for seen in closed_seen:
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


class _Boards:
    """Which board a job is on: a stable choice per cluster key, weighted like real traffic."""

    def __init__(self, ids: SourceIds, cluster_key: ClusterKey) -> None:
        self.ids = ids
        self.cluster_key = cluster_key
        self.keys: dict[str, str | None] = {}  # "<source>:<source_id>" -> cluster key

    def place(self, body: Json, key: str | None) -> str:
        digest = zlib.crc32((key or str(body["source_id"])).encode()) % sum(SOURCE_WEIGHTS)
        for source, weight in zip(SOURCES, SOURCE_WEIGHTS, strict=True):
            if digest < weight:
                return source
            digest -= weight
        raise AssertionError("unreachable")

    def post(self, source: str, body: Json, key: str | None) -> Json:
        source_id = self.ids.next(source)
        body["source_id"] = source_id
        body["url"] = board_url(source, source_id, str(body["company"]))
        self.keys[f"{source}:{source_id}"] = key
        return body


def _observe(plan: Plan, boards: _Boards, rng: random.Random) -> _Seen:
    # Leave a day at the end so every re-observation and close can happen strictly later.
    at = BASE - WINDOW + timedelta(seconds=rng.randrange(int((WINDOW.days - 1) * 86_400)))
    body = posting(plan, SOURCES[0], "draft", at, rng)
    key = boards.cluster_key(SOURCES[0], body)
    source = boards.place(body, key)
    body = boards.post(source, body, key)
    return _Seen(at, source, body, _event("posting.observed", at, source, body, rng))


def _cross_posts(
    open_seen: list[_Seen],
    boards: _Boards,
    count: int,
    rng: random.Random,
) -> list[tuple[datetime, Json]]:
    """Copies of open jobs on a second board, first seen in the feed's last day.

    Only jobs whose cluster key no other posting shares, so each copy can only join its original's
    cluster; and after every original was first seen, so the original stays the one counted.
    """
    keys = Counter(boards.keys.values())  # over every posting placed so far, open or closed
    unique = [s for s in open_seen if keys[boards.keys[_posting_key(s)]] == 1]
    unique = [s for s in unique if boards.keys[_posting_key(s)] is not None]
    out: list[tuple[datetime, Json]] = []
    for seen in rng.sample(unique, count):
        other = SOURCES[(SOURCES.index(seen.source) + 1 + rng.randrange(len(SOURCES) - 1)) % 5]
        at = BASE - timedelta(seconds=rng.randrange(1, 86_400))
        body = boards.post(other, _copy(seen.body), boards.keys[_posting_key(seen)])
        out.append((at, _event("posting.observed", at, other, body, rng)))
    return out


def _posting_key(seen: _Seen) -> str:
    return f"{seen.source}:{seen.body['source_id']}"


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
