"""Weekly history: a role's counters as of the end of each ISO week of event time.

A weekly document holds the counters a role's figures come from (open, work modes, seniority,
salary sums and exact histograms): the role aggregate restricted to `WEEKLY_FIELDS`, as it stood
at the end of that week. The consumer adds every change to the week of the event that caused it
and to each later week, in the same transaction as the aggregate change, so the history depends
only on event times, never on how partitions were drained, and replays cannot disturb it.
Figures (quantiles, averages) are derived when read, by `role_snapshot`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rolepulse.domain.aggregates import BASES, salary_stats, seniority_mix, work_mode_mix


def iso_week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(at: datetime) -> date:
    return at.date() - timedelta(days=at.isocalendar().weekday - 1)


# Counter paths of a role aggregate that weekly history keeps (skills, companies and metros are
# current-only: no trend reads them, and they are most of a role document's size).
WEEKLY_FIELDS = ("open", "work_mode", "seniority", "salary")


def weekly_increments(increments: Mapping[str, int]) -> dict[str, int]:
    """The part of a role document's `$inc` that weekly history keeps."""
    return {p: v for p, v in increments.items() if v and p.split(".", 1)[0] in WEEKLY_FIELDS}


def week_monday_utc(week: str) -> datetime:
    """Midnight UTC of the Monday that starts ISO week "YYYY-Www"."""
    year, number = week.split("-W")
    return datetime.combine(date.fromisocalendar(int(year), int(number), 1), time(), UTC)


def role_snapshot(role_doc: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of a role's counters (an aggregate or a weekly document), as trends read them."""
    salary_doc = role_doc.get("salary") or {}
    salary: dict[str, Any] = {}
    for basis in BASES:
        s = salary_stats(salary_doc, basis)
        salary[basis.value] = {
            "p25": s.p25, "median": s.median, "p75": s.p75, "average": s.average,
        }  # fmt: skip
    return {
        "open": int(role_doc.get("open") or 0),
        "n": int(salary_doc.get("n") or 0),
        "salary": salary,
        "work_mode": {m.value: c for m, c in work_mode_mix(role_doc.get("work_mode")).items()},
        "seniority": {s.value: c for s, c in seniority_mix(role_doc.get("seniority")).items()},
    }
