"""Sanity checks of the stored market that a recomputation cannot see.

`verify` recomputes aggregates from postings, so a market wiped by a sweep driven by a bad clock
verifies clean: every posting really is closed. These checks look at the causes instead: a stream
clock ahead of the wall clock, and a sweep that emptied a role in one pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from rolepulse.domain.expiry import RoleSweep


@dataclass(frozen=True, slots=True)
class SweepRecord:
    """What one publishing sweep did, as the sweeper recorded it."""

    at: datetime  # wall clock when it published
    clock: datetime  # the clock it measured expiry on
    forced: bool  # it was over the share limit and forced
    roles: Mapping[str, RoleSweep]


def clock_problems(clock: datetime | None, wall: datetime, max_skew: timedelta) -> list[str]:
    """A line when the stream clock is more than `max_skew` ahead of the wall clock.

    `max_skew` is the consumer's bound on event times (ROLEPULSE_CONSUMER_MAX_EVENT_SKEW_S): a
    clock further ahead was moved by an event the consumer should not have accepted.
    """
    if clock is None or clock - wall <= max_skew:
        return []
    return [
        f"stream clock {clock.isoformat()} is {duration(clock - wall)} ahead of the wall clock "
        f"{wall.isoformat()} (allowed: {duration(max_skew)}): an implausible event time moved "
        "it; sweeps measured on it expire postings that are not stale"
    ]


# A role this small can go stale whole in a real market (a company's two openings, both filled);
# from this size on, one sweep emptying it points at the clock, not at the market.
MIN_OPEN_TO_FLAG = 5


def emptied_roles(sweeps: Iterable[SweepRecord]) -> list[str]:
    """A line per role of at least `MIN_OPEN_TO_FLAG` open postings that one sweep emptied."""
    lines = []
    for s in sorted(sweeps, key=lambda s: s.at):
        for role, r in sorted(s.roles.items()):
            if r.open >= MIN_OPEN_TO_FLAG and r.expired >= r.open:
                forced = " (forced)" if s.forced else ""
                lines.append(
                    f"sweep at {s.at.isoformat()}{forced} on clock {s.clock.isoformat()} "
                    f"emptied role {role}: expired {r.expired} of {r.open} open postings"
                )
    return lines


def duration(d: timedelta) -> str:
    """A readable length: whole days from two days on, else hours."""
    if d >= timedelta(days=2):
        return f"{d.days} days"
    return f"{d.total_seconds() / 3600:.1f} h"
