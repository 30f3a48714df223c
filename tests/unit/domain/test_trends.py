"""Weekly trend shaping: window, gap filling with carry-forward, week-over-week changes, basis."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.model import SalaryBasis, Seniority, WorkMode
from rolepulse.domain.trends import (
    change_pct,
    week_label,
    week_monday,
    weekly_trend,
    weeks_to_read,
)


def snap(
    week: str, open_: int, median_max: float | None = 200_000.0, **over: Any
) -> dict[str, Any]:
    """A stored snapshot; medians per basis differ so a wrong basis shows."""
    figures = {
        "max": {"p25": 180_000.0, "median": median_max, "p75": 220_000.0, "average": 210_000.0},
        "min": {"p25": 100_000.0, "median": 120_000.0, "p75": 140_000.0, "average": 125_000.0},
        "mid": {"p25": 140_000.0, "median": 160_000.0, "p75": 180_000.0, "average": 167_500.0},
    }
    doc: dict[str, Any] = {
        "_id": f"llm-engineer|{week}",
        "role": "llm-engineer",
        "week": week,
        "open": open_,
        "n": open_ - 1,
        "salary": figures,
        "work_mode": {"remote": 1, "hybrid": 0, "onsite": open_ - 1, "unknown": 0},
        "seniority": {"entry": 0, "mid": 1, "senior": open_ - 1, "lead": 0, "executive": 0},
    }
    return doc | over


def weeks_of(points: list[Any]) -> list[str]:
    return [p.week for p in points]


def test_contiguous_weeks_with_changes() -> None:
    snaps = [snap("2026-W43", 4, 200_000.0), snap("2026-W44", 6, 210_000.0)]
    first, second = weekly_trend(snaps, "2026-W44", 12, SalaryBasis.MAX)
    assert (first.week, first.week_start) == ("2026-W43", date(2026, 10, 19))
    assert (first.open_positions_change, first.median_change_pct) == (None, None)
    assert not first.carried_forward
    assert second.open_positions == 6
    assert second.open_positions_change == 2
    assert second.median_change_pct == pytest.approx(5.0)
    assert second.salary.n == 5
    assert second.work_mode[WorkMode.REMOTE] == 1
    assert second.seniority[Seniority.SENIOR] == 5


def test_gap_is_carried_forward_and_flagged() -> None:
    snaps = [snap("2026-W40", 3), snap("2026-W43", 7)]
    points = weekly_trend(snaps, "2026-W43", 12, SalaryBasis.MAX)
    assert weeks_of(points) == ["2026-W40", "2026-W41", "2026-W42", "2026-W43"]
    assert [p.carried_forward for p in points] == [False, True, True, False]
    assert [p.open_positions for p in points] == [3, 3, 3, 7]
    assert [p.open_positions_change for p in points] == [None, 0, 0, 4]
    assert points[1].median_change_pct == 0.0


def test_trend_runs_to_the_latest_week_of_any_role() -> None:
    points = weekly_trend([snap("2026-W44", 5)], "2026-W46", 12, SalaryBasis.MAX)
    assert weeks_of(points) == ["2026-W44", "2026-W45", "2026-W46"]
    assert [p.carried_forward for p in points] == [False, True, True]


def test_snapshot_before_the_window_carries_into_it() -> None:
    snaps = [snap("2026-W30", 9), snap("2026-W40", 2), snap("2026-W44", 4)]
    points = weekly_trend(snaps, "2026-W44", 3, SalaryBasis.MAX)
    assert weeks_of(points) == ["2026-W42", "2026-W43", "2026-W44"]
    assert [p.open_positions for p in points] == [2, 2, 4]
    assert [p.carried_forward for p in points] == [True, True, False]
    assert points[0].open_positions_change is None  # the first point has nothing to compare


def test_weeks_before_the_first_snapshot_get_no_point() -> None:
    points = weekly_trend([snap("2026-W44", 1)], "2026-W44", 104, SalaryBasis.MAX)
    assert weeks_of(points) == ["2026-W44"]


def test_one_week() -> None:
    snaps = [snap("2026-W43", 4), snap("2026-W44", 6)]
    (point,) = weekly_trend(snaps, "2026-W44", 1, SalaryBasis.MAX)
    assert (point.week, point.open_positions, point.open_positions_change) == ("2026-W44", 6, None)


def test_across_a_53_week_year() -> None:
    snaps = [snap("2026-W52", 2), snap("2027-W01", 5)]
    points = weekly_trend(snaps, "2027-W01", 12, SalaryBasis.MAX)
    assert weeks_of(points) == ["2026-W52", "2026-W53", "2027-W01"]
    assert points[1].week_start == date(2026, 12, 28)
    assert points[1].carried_forward


@pytest.mark.parametrize(
    ("basis", "median", "average"),
    [
        (SalaryBasis.MAX, 200_000.0, 210_000.0),
        (SalaryBasis.MIN, 120_000.0, 125_000.0),
        (SalaryBasis.MIDPOINT, 160_000.0, 167_500.0),
    ],
)
def test_basis_picks_the_figures(basis: SalaryBasis, median: float, average: float) -> None:
    (point,) = weekly_trend([snap("2026-W44", 3)], "2026-W44", 4, basis)
    assert point.salary.basis is basis
    assert (point.salary.median, point.salary.average) == (median, average)


def test_median_change_undefined_without_pay() -> None:
    snaps = [snap("2026-W42", 1, None), snap("2026-W43", 2, 100_000.0), snap("2026-W44", 3, None)]
    points = weekly_trend(snaps, "2026-W44", 12, SalaryBasis.MAX)
    assert [p.median_change_pct for p in points] == [None, None, None]


def test_no_snapshots_and_later_snapshots_ignored() -> None:
    assert weekly_trend([], "2026-W44", 12, SalaryBasis.MAX) == []
    assert weekly_trend([snap("2026-W45", 3)], "2026-W44", 12, SalaryBasis.MAX) == []


@pytest.mark.parametrize("weeks", [0, 105, -1])
def test_weeks_out_of_range(weeks: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 104"):
        weekly_trend([snap("2026-W44", 3)], "2026-W44", weeks, SalaryBasis.MAX)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [(100.0, 110.0, 10.0), (200.0, 150.0, -25.0), (0.0, 5.0, None), (None, 5.0, None)],
)
def test_change_pct(old: float | None, new: float | None, expected: float | None) -> None:
    assert change_pct(old, new) == (pytest.approx(expected) if expected is not None else None)


def test_week_label_round_trip() -> None:
    assert week_monday("2026-W53") == date(2026, 12, 28)
    assert week_label(date(2026, 12, 28)) == "2026-W53"


ORIGIN = date(2025, 12, 29)  # Monday of 2026-W01


@given(
    offsets=st.sets(st.integers(0, 120), min_size=1, max_size=30),
    extra=st.integers(0, 5),
    weeks=st.integers(1, 104),
)
def test_against_a_week_by_week_oracle(offsets: set[int], extra: int, weeks: int) -> None:
    """Each point equals the newest snapshot at or before its week; weeks are consecutive."""
    snaps = {o: snap(week_label(ORIGIN + timedelta(weeks=o)), o + 1) for o in offsets}
    end = max(offsets) + extra
    points = weekly_trend(
        list(snaps.values()), week_label(ORIGIN + timedelta(weeks=end)), weeks, SalaryBasis.MAX
    )
    first = max(end - weeks + 1, min(offsets))
    assert [p.week_start for p in points] == [
        ORIGIN + timedelta(weeks=o) for o in range(first, end + 1)
    ]
    for offset, point in zip(range(first, end + 1), points, strict=True):
        source = max(o for o in offsets if o <= offset)
        assert point.open_positions == source + 1
        assert point.carried_forward == (offset not in offsets)
    changes = [p.open_positions_change for p in points]
    assert changes[0] is None
    assert changes[1:] == [b.open_positions - a.open_positions for a, b in pairwise(points)]


def test_weeks_to_read_the_window_and_the_snapshot_standing_at_its_start() -> None:
    stored = [week_label(ORIGIN + timedelta(weeks=o)) for o in (0, 1, 2, 10, 11, 30)]
    end = week_label(ORIGIN + timedelta(weeks=31))
    # 2 weeks ending at offset 31 start at offset 30, which stands there: it alone.
    assert weeks_to_read(stored, end, 2) == [stored[-1]]
    # 3 weeks start at offset 29, where offset 11 stands: it and offset 30.
    assert weeks_to_read(stored, end, 3) == stored[-2:]
    # 25 weeks ending there start at offset 7: offsets 10, 11, 30 and offset 2, standing then.
    assert weeks_to_read(stored, end, 25) == stored[2:]
    assert weeks_to_read(stored, stored[1], 2) == stored[:2]  # an end inside the history
    assert weeks_to_read(stored, end, 100) == stored  # the newest 100: every one there is
    assert weeks_to_read([], end, 3) == []
    assert weeks_to_read(stored, week_label(ORIGIN - timedelta(weeks=1)), 3) == []


@given(
    offsets=st.sets(st.integers(0, 160), min_size=1, max_size=60),
    extra=st.integers(0, 60),
    weeks=st.integers(1, 104),
    smaller=st.integers(1, 104),
)
def test_the_weeks_to_read_give_the_trend_of_every_snapshot(
    offsets: set[int], extra: int, weeks: int, smaller: int
) -> None:
    """A trend from the snapshots `weeks_to_read` picks (for `weeks + 1`, what the API reads)
    is the trend from all of them, and so is one of fewer weeks from the newest of those."""
    snaps = {o: snap(week_label(ORIGIN + timedelta(weeks=o)), o + 1) for o in offsets}
    stored = [snaps[o]["week"] for o in sorted(offsets)]
    end = week_label(ORIGIN + timedelta(weeks=max(offsets) + extra))
    picked = weeks_to_read(stored, end, weeks + 1)
    assert len(picked) <= weeks + 1
    by_week = {s["week"]: s for s in snaps.values()}
    newest_first = [by_week[w] for w in reversed(picked)]
    every = list(snaps.values())
    assert weekly_trend(newest_first, end, weeks, SalaryBasis.MAX) == weekly_trend(
        every, end, weeks, SalaryBasis.MAX
    )
    fewer = min(smaller, weeks)  # the DataLoader serves smaller windows from the widest read
    assert weekly_trend(newest_first[: fewer + 1], end, fewer, SalaryBasis.MAX) == weekly_trend(
        every, end, fewer, SalaryBasis.MAX
    )
