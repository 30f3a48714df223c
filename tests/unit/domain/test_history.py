"""Weekly snapshot shape and ISO week arithmetic, including year boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from rolepulse.domain.history import iso_week, role_snapshot, week_start


@pytest.mark.parametrize(
    ("at", "week", "monday"),
    [
        (datetime(2026, 11, 1, 10, tzinfo=UTC), "2026-W44", date(2026, 10, 26)),  # a Sunday
        (datetime(2026, 11, 2, 0, tzinfo=UTC), "2026-W45", date(2026, 11, 2)),  # Monday 00:00
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "2026-W53", date(2026, 12, 28)),
        (datetime(2027, 1, 3, 12, tzinfo=UTC), "2026-W53", date(2026, 12, 28)),  # ISO year 2026
        (datetime(2027, 1, 4, tzinfo=UTC), "2027-W01", date(2027, 1, 4)),
        (datetime(2024, 12, 30, tzinfo=UTC), "2025-W01", date(2024, 12, 30)),  # ISO year 2025
        (datetime(2021, 1, 1, tzinfo=UTC), "2020-W53", date(2020, 12, 28)),
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-W01", date(2025, 12, 29)),
    ],
)
def test_iso_week_and_week_start(at: datetime, week: str, monday: date) -> None:
    assert iso_week(at) == week
    assert week_start(at) == monday
    assert week_start(at).isoweekday() == 1


SWE = {
    "_id": "ai-software-engineer",
    "open": 5,
    "work_mode": {"remote": 2, "onsite": 3},
    "seniority": {"mid": 1, "senior": 4},
    "skills": {"RAG": 3},
    "salary": {
        "n": 4,
        "sum_min": 600_000,
        "sum_max": 1_000_000,
        "sum_mid": 800_000,
        "hist_min": {"100000": 1, "140000": 1, "160000": 1, "200000": 1},
        "hist_max": {"200000": 1, "240000": 1, "260000": 1, "300000": 1},
        "hist_mid": {"150000": 1, "190000": 1, "210000": 1, "250000": 1},
    },
}


def test_role_snapshot_keeps_counts_and_every_basis() -> None:
    snap = role_snapshot(SWE)
    assert snap["open"] == 5
    assert snap["n"] == 4
    assert snap["work_mode"] == {"remote": 2, "hybrid": 0, "onsite": 3, "unknown": 0}
    assert snap["seniority"] == {"entry": 0, "mid": 1, "senior": 4, "lead": 0, "executive": 0}
    assert snap["salary"]["max"] == {
        "p25": 230_000.0, "median": 250_000.0, "p75": 270_000.0, "average": 250_000.0,
    }  # fmt: skip
    assert snap["salary"]["min"]["average"] == 150_000.0
    assert snap["salary"]["mid"]["median"] == 200_000.0
    assert "skills" not in snap  # history keeps the figures trends show, not the long tails


def test_role_snapshot_of_an_emptied_role() -> None:
    snap = role_snapshot({"_id": "llm-engineer", "open": 0, "salary": {"n": 0}})
    assert snap["open"] == 0
    assert snap["n"] == 0
    assert set(snap["salary"]) == {"min", "max", "mid"}
    assert all(v is None for figures in snap["salary"].values() for v in figures.values())
    assert sum(snap["work_mode"].values()) == 0
