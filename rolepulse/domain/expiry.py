"""Which open postings have expired, the events that say so, and when a sweep must not publish.

An expiry is published as a `posting.closed` event with reason "expired" through the same topic
as everything else, so it takes the consumer's idempotent path. Its id and content derive from
the posting and its last observation only, so a sweeper that runs twice (or two sweepers) emit
identical events and the consumer applies one.

A sweep is also bounded: a clock far ahead of the market (one bad event time) makes every posting
look stale, so a pass that would expire more than a share of the open market is refused unless an
operator forces it; and an expiry already published that still waits in the topic is not
published again, so a lagging consumer is not buried under copies it will discard.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class OpenPosting:
    source: str
    source_id: str
    last_observed_at: datetime
    role: str | None = None


def expired(postings: Iterable[OpenPosting], now: datetime, window: timedelta) -> list[OpenPosting]:
    """The postings whose last observation is more than `window` before `now`."""
    return [p for p in postings if p.last_observed_at + window < now]


def expiry_events(
    postings: Iterable[OpenPosting], now: datetime, window: timedelta
) -> list[dict[str, Any]]:
    """Events closing every posting whose last observation is more than `window` before `now`."""
    return [_event(p, window) for p in expired(postings, now, window)]


def expiry_event_id(p: OpenPosting) -> str:
    """The expiry's id: one per posting and last observation, whoever publishes it and when."""
    return f"expiry:{p.source}:{p.source_id}:{p.last_observed_at.isoformat()}"


def unpublished(
    due: Iterable[OpenPosting],
    published_at: Mapping[str, datetime],
    now: datetime,
    republish_after: timedelta,
) -> list[OpenPosting]:
    """The due postings whose expiry was not published within `republish_after` before `now`.

    `published_at` maps expiry event ids to when they were published. A due posting whose expiry
    id is recorded is still open with that same last observation (the id embeds it), so its
    expiry is waiting in the topic. After `republish_after` it is published again, in case the
    message was lost: a copy is harmless, the consumer applies an event id once.
    """
    out = []
    for p in due:
        at = published_at.get(expiry_event_id(p))
        if at is None or at + republish_after <= now:
            out.append(p)
    return out


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a sweep publishes nothing: it would expire too much of the open market at once."""

    expiring: int
    open_postings: int
    max_share: float

    @property
    def share(self) -> float:
        return self.expiring / self.open_postings


def refuse_sweep(expiring: int, open_postings: int, max_share: float) -> Refusal | None:
    """A refusal when `expiring` is more than `max_share` of the `open_postings`, else None."""
    # The expiring postings are open themselves: a smaller count is a race with the consumer.
    open_postings = max(open_postings, expiring)
    if expiring == 0 or expiring <= max_share * open_postings:
        return None
    return Refusal(expiring, open_postings, max_share)


@dataclass(frozen=True, slots=True)
class RoleSweep:
    """One role in one sweep: its open postings before, and how many the sweep expired."""

    open: int
    expired: int


def role_tally(
    expiring: Iterable[OpenPosting], open_by_role: Mapping[str | None, int]
) -> dict[str, RoleSweep]:
    """Per AI role touched by a sweep: open postings before it and expiries it published."""
    counts = Counter(p.role for p in expiring if p.role is not None)
    return {
        role: RoleSweep(open=max(open_by_role.get(role, 0), n), expired=n)
        for role, n in sorted(counts.items())
    }


def _event(p: OpenPosting, window: timedelta) -> dict[str, Any]:
    observed = p.last_observed_at.isoformat()
    return {
        "version": 1,
        "event_id": expiry_event_id(p),
        "event_type": "posting.closed",
        "occurred_at": (p.last_observed_at + window).isoformat(),
        "source": p.source,
        "posting": {"source_id": p.source_id},
        "reason": "expired",
        "last_observed_at": observed,
    }
