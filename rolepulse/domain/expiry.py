"""Which open postings have expired, and the events that say so.

An expiry is published as a `posting.closed` event with reason "expired" through the same topic
as everything else, so it takes the consumer's idempotent path. Its id and content derive from
the posting and its last observation only, so a sweeper that runs twice (or two sweepers) emit
identical events and the consumer applies one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class OpenPosting:
    source: str
    source_id: str
    last_observed_at: datetime


def expiry_events(
    postings: Iterable[OpenPosting], now: datetime, window: timedelta
) -> list[dict[str, Any]]:
    """Events closing every posting whose last observation is more than `window` before `now`."""
    return [_event(p, window) for p in postings if p.last_observed_at + window < now]


def _event(p: OpenPosting, window: timedelta) -> dict[str, Any]:
    observed = p.last_observed_at.isoformat()
    return {
        "version": 1,
        "event_id": f"expiry:{p.source}:{p.source_id}:{observed}",
        "event_type": "posting.closed",
        "occurred_at": (p.last_observed_at + window).isoformat(),
        "source": p.source,
        "posting": {"source_id": p.source_id},
        "reason": "expired",
        "last_observed_at": observed,
    }
