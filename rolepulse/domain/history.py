"""Weekly history: a role's figures frozen per ISO week, so trends never recompute from postings.

A snapshot keeps counts and exact salary figures on every basis; percentages are derived when
read. The consumer writes the snapshot of the stream's current week in the same transaction as
the aggregate change, so replays (which skip applied batches) cannot disturb history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from rolepulse.domain.aggregates import BASES, salary_stats, seniority_mix, work_mode_mix


def iso_week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


def week_start(at: datetime) -> date:
    return at.date() - timedelta(days=at.isocalendar().weekday - 1)


def role_snapshot(role_doc: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of one role aggregate document, as stored in a weekly snapshot."""
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
