"""Date the demo market relative to today, so expiry treats it as a live feed would.

The generator is deterministic and anchored to a fixed base date (its events span 2026-10-05 ..
2026-11-01). Loaded as is months later, every posting would be long past the expiry window of a
wall clock. `shift_to_now` moves every timestamp by the same whole number of weeks so that the
newest event lands one to eight days before `now`: figures stay identical (only times move,
uniformly) and ISO weeks stay aligned (weekly snapshots keep their Monday boundaries), and no
event is ever in the future (the consumer rejects events ahead of its clock).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime, timedelta

from rolepulse.demo.render import stamp

Event = dict[str, object]
WEEK = timedelta(weeks=1)
MIN_AGE = timedelta(days=1)  # the newest event is at least this old after the shift
_TIME_FIELDS = ("occurred_at",)
_POSTING_TIME_FIELDS = ("posted_at",)


def parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def week_shift(newest: datetime, now: datetime) -> timedelta:
    """The whole-week shift putting ``newest`` between ``MIN_AGE`` and ``MIN_AGE`` + a week
    before ``now`` (negative when the clock is earlier than the generator's dates)."""
    return WEEK * ((now - MIN_AGE - newest) // WEEK)


def shift_to_now(events: Iterable[Event], now: datetime) -> list[Event]:
    """Copies of ``events`` with every timestamp moved by `week_shift`; nothing else changes."""
    originals = list(events)
    if not originals:
        return []
    newest = max(parse(str(e["occurred_at"])) for e in originals)
    delta = week_shift(newest, now)
    return [_shifted(e, delta) for e in originals]


def _shifted(event: Event, delta: timedelta) -> Event:
    out = copy.deepcopy(event)
    for key in _TIME_FIELDS:
        out[key] = _move(out[key], delta)
    posting = out.get("posting")
    if isinstance(posting, dict):
        for key in _POSTING_TIME_FIELDS:
            if posting.get(key) is not None:
                posting[key] = _move(posting[key], delta)
    return out


def _move(value: object, delta: timedelta) -> str:
    return stamp(parse(str(value)) + delta)
