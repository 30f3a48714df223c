"""The market's weekly history: the roles' weekly counters summed, week by week. Pure.

A role's weekly document holds its counters as of the end of an ISO week (Monday-Sunday, UTC, by
event time) and exists only for weeks in which the role changed (rolepulse/domain/history.py); in
any other week the role stands as at the end of its latest earlier week. So the market at the end
of week W is the sum over roles of each role's latest document at or before W. Counters add
(rolepulse/domain/rollups.py), histograms included: the market's quantiles are exact, never an
average of the roles' quantiles.

A week is *complete* once the stream clock (the watermark of applied event times that expiry
runs on) has reached its end, the next Monday 00:00 UTC: from then on only a late event, one
older than the stream clock, could still change it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from rolepulse.domain.history import role_snapshot, week_start
from rolepulse.domain.model import SalaryBasis
from rolepulse.domain.rollups import Counters, add_counters
from rolepulse.domain.trends import WEEK, change_pct, week_label, week_monday

WeeklyCounters = Mapping[str, Any]  # a stored weekly document: "week" and a role's counters


@dataclass(frozen=True, slots=True)
class WeekChange:
    """Open positions at the end of the newest complete week against the week before it."""

    week: str
    previous_week: str
    open_positions: int
    previous_open_positions: int

    @property
    def change(self) -> int:
        return self.open_positions - self.previous_open_positions

    @property
    def change_pct(self) -> float | None:
        """(open / previous - 1) * 100; None when the previous week had no open position."""
        return change_pct(self.previous_open_positions, self.open_positions)


class _Timeline:
    """One role's weekly documents by Monday, to find the one standing at the end of a week."""

    def __init__(self, docs: Sequence[WeeklyCounters]) -> None:
        by_monday = sorted((week_monday(str(d["week"])), i) for i, d in enumerate(docs))
        self.mondays = [m for m, _ in by_monday]
        self.docs = [docs[i] for _, i in by_monday]

    def at(self, monday: date) -> WeeklyCounters | None:
        """The latest document at or before the week of `monday`; None before the first."""
        i = bisect_right(self.mondays, monday)
        return self.docs[i - 1] if i else None


def market_snapshots(
    by_role: Mapping[str, Sequence[WeeklyCounters]],
    latest_week: str,
    weeks: int,
    basis: SalaryBasis,
) -> list[dict[str, Any]]:
    """The market's figures (the snapshot shape `trends.weekly_trend` reads, on `basis` only),
    for each week up to `latest_week` in which some role has a document: those inside the
    window of `weeks` weeks ending there, and the latest one before it, which carries into the
    window's first weeks.

    `by_role` holds each role's newest documents, at least through its newest one before the
    window: reading `weeks + 1` per role guarantees that, as at most `weeks` fall inside it.
    """
    end = week_monday(latest_week)
    start = end - (weeks - 1) * WEEK
    timelines = [_Timeline(docs) for docs in by_role.values() if docs]
    mondays = sorted({m for t in timelines for m in t.mondays if m <= end})
    before = [m for m in mondays if m <= start]
    shown = [m for m in mondays if m >= (before[-1] if before else start)]
    out: list[dict[str, Any]] = []
    for monday in shown:
        total: Counters = {}
        for timeline in timelines:
            doc = timeline.at(monday)
            if doc is not None:
                add_counters(total, doc)  # its strings (_id, role, week) are not counters
        snapshot = role_snapshot(total)
        # Only the basis asked for: the read fetched that basis's histogram alone.
        snapshot["salary"] = {basis.value: snapshot["salary"][basis.value]}
        out.append(snapshot | {"week": week_label(monday)})
    return out


def newest_complete_week(clock: datetime) -> date:
    """Monday of the newest ISO week that ended at or before `clock` (the stream clock)."""
    return week_start(clock.astimezone(UTC)) - WEEK


def open_positions_change(
    by_role: Mapping[str, Sequence[WeeklyCounters]], clock: datetime
) -> WeekChange | None:
    """Market open positions at the end of the newest complete week at `clock` against the
    week before; None when no role has a document as old as that previous week.

    `by_role` holds each role's newest documents up to the newest complete week, at least two.
    """
    week = newest_complete_week(clock)
    previous = week - WEEK
    timelines = [_Timeline(docs) for docs in by_role.values() if docs]
    if not any(t.at(previous) is not None for t in timelines):
        return None
    return WeekChange(
        week=week_label(week),
        previous_week=week_label(previous),
        open_positions=sum(_open(t.at(week)) for t in timelines),
        previous_open_positions=sum(_open(t.at(previous)) for t in timelines),
    )


def _open(doc: WeeklyCounters | None) -> int:
    raw = (doc or {}).get("open")
    return int(raw) if isinstance(raw, int | float) else 0
