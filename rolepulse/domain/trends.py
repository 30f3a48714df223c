"""Weekly trends: a role's weekly snapshots (see `history`) laid out as one point per ISO week.

Snapshots exist only for weeks in which a role's aggregate changed, so a gap means "same as the
week before": a missing week repeats the previous snapshot and is flagged `carried_forward`.
Weeks before a role's first snapshot get no point at all: no data is not zero.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rolepulse.domain.aggregates import seniority_mix, work_mode_mix
from rolepulse.domain.history import iso_week
from rolepulse.domain.model import SalaryBasis, Seniority, WorkMode

MAX_WEEKS = 104  # two years: enough for year-over-year, bounded read per role
WEEK = timedelta(weeks=1)


@dataclass(frozen=True, slots=True)
class WeekSalary:
    """Salary figures of one week on one basis; annual USD over `n` postings."""

    basis: SalaryBasis
    n: int
    p25: float | None
    median: float | None
    p75: float | None
    average: float | None


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One ISO week of a role's trend; changes compare with the previous point (None if first)."""

    week: str
    week_start: date
    carried_forward: bool
    open_positions: int
    salary: WeekSalary
    work_mode: Mapping[WorkMode, int]
    seniority: Mapping[Seniority, int]
    open_positions_change: int | None
    median_change_pct: float | None


def week_monday(week: str) -> date:
    """Monday of an ISO week label "YYYY-Www" (the inverse of `history.iso_week`)."""
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def week_label(monday: date) -> str:
    return iso_week(datetime.combine(monday, time(), UTC))


def weeks_to_read(stored: Sequence[str], end: str, count: int) -> list[str]:
    """Which of a role's weekly snapshots (`stored`: its weeks, ascending) a trend of up to
    `count - 1` weeks ending at week `end` can need: its newest `count` at or before `end`,
    but none older than the one standing at the start of the `count` weeks ending there.

    For a role with a snapshot every week that is its newest `count` (one before a window of
    `count - 1` weeks carries into it); for one that stopped changing long ago, the single
    snapshot that still stands. Either way at most `count`, however long the history.
    """
    if count < 1:
        return []
    stop = bisect_right(stored, end)
    first_week = week_label(week_monday(end) - (count - 1) * WEEK)
    standing = max(bisect_right(stored, first_week) - 1, 0)
    return list(stored[max(stop - count, standing) : stop])


def weekly_trend(
    snapshots: Sequence[Mapping[str, Any]], latest_week: str, weeks: int, basis: SalaryBasis
) -> list[TrendPoint]:
    """Points for the `weeks` ISO weeks ending at `latest_week`, oldest first.

    `snapshots` are one role's stored snapshots in any order; one older than the window carries
    its figures into the window's first weeks. Snapshots after `latest_week` are ignored.
    """
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"weeks must be between 1 and {MAX_WEEKS}, got {weeks}")
    end = week_monday(latest_week)
    by_monday = {week_monday(s["week"]): s for s in snapshots}
    known = sorted(m for m in by_monday if m <= end)
    if not known:
        return []
    start = max(end - (weeks - 1) * WEEK, known[0])
    carried = _latest_at_or_before(by_monday, known, start)
    points: list[TrendPoint] = []
    monday = start
    while monday <= end:
        snapshot = by_monday.get(monday)
        if snapshot is not None:
            carried = snapshot
        points.append(_point(monday, carried, snapshot is None, basis, points[-1:]))
        monday += WEEK
    return points


def _latest_at_or_before(
    by_monday: Mapping[date, Mapping[str, Any]], known: Sequence[date], monday: date
) -> Mapping[str, Any]:
    return by_monday[max(m for m in known if m <= monday)]


def _point(
    monday: date,
    snapshot: Mapping[str, Any],
    carried_forward: bool,
    basis: SalaryBasis,
    previous: Sequence[TrendPoint],
) -> TrendPoint:
    salary = _salary(snapshot, basis)
    open_positions = int(snapshot.get("open") or 0)
    before = previous[0] if previous else None
    return TrendPoint(
        week=week_label(monday),
        week_start=monday,
        carried_forward=carried_forward,
        open_positions=open_positions,
        salary=salary,
        work_mode=work_mode_mix(snapshot.get("work_mode")),
        seniority=seniority_mix(snapshot.get("seniority")),
        open_positions_change=None if before is None else open_positions - before.open_positions,
        median_change_pct=None
        if before is None
        else change_pct(before.salary.median, salary.median),
    )


def _salary(snapshot: Mapping[str, Any], basis: SalaryBasis) -> WeekSalary:
    figures: Mapping[str, Any] = (snapshot.get("salary") or {}).get(basis.value) or {}
    return WeekSalary(
        basis=basis,
        n=int(snapshot.get("n") or 0),
        p25=_number(figures.get("p25")),
        median=_number(figures.get("median")),
        p75=_number(figures.get("p75")),
        average=_number(figures.get("average")),
    )


def change_pct(old: float | None, new: float | None) -> float | None:
    """(new / old - 1) * 100; None when either side is missing or old is zero (undefined)."""
    if old is None or new is None or old == 0:
        return None
    return (new / old - 1) * 100


def _number(raw: object) -> float | None:
    return float(raw) if isinstance(raw, int | float) else None
