"""The market's weekly history (rolepulse/domain/market_trend.py): the roles' weekly documents
summed week by week, against a plain oracle that carries each role forward by hand, and the
week-over-week change over complete weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.market_trend import (
    market_snapshots,
    newest_complete_week,
    open_positions_change,
)
from rolepulse.domain.model import SalaryBasis
from rolepulse.domain.trends import week_label, weekly_trend, weeks_to_read

MONDAY = date(2026, 9, 7)  # 2026-W37


def week(i: int) -> str:
    return week_label(MONDAY + timedelta(weeks=i))


def doc(i: int, open_: int, mids: list[int]) -> dict[str, Any]:
    """A stored weekly document (week i) holding `open_` postings, `mids` the disclosed pay."""
    hist: dict[str, int] = {}
    for m in mids:
        hist[str(m)] = hist.get(str(m), 0) + 1
    return {
        "_id": f"r|{week(i)}",
        "role": "r",
        "week": week(i),
        "open": open_,
        "work_mode": {"remote": open_},
        "seniority": {"senior": open_},
        "salary": {"n": len(mids), "sum_mid": sum(mids), "hist_mid": hist},
    }


def interpolate(values: list[int], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    return float(xs[lo]) if lo + 1 >= len(xs) else xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


# Each role: {week index: (open, mids)}; weeks 0..11.
HISTORIES = st.dictionaries(
    st.sampled_from(("a", "b", "c")),
    st.dictionaries(
        st.integers(0, 11),
        st.tuples(
            st.integers(0, 30), st.lists(st.integers(50, 60).map(lambda k: k * 5_000), max_size=4)
        ),
        max_size=6,
    ),
    max_size=3,
)


@given(HISTORIES, st.integers(1, 8))
def test_market_points_are_each_roles_latest_document_summed(
    histories: dict[str, dict[int, tuple[int, list[int]]]], weeks: int
) -> None:
    by_role = {r: [doc(i, o, m) for i, (o, m) in h.items()] for r, h in histories.items()}
    present = sorted({i for h in histories.values() for i in h})
    if not present:
        return
    latest = present[-1]
    snapshots = market_snapshots(by_role, week(latest), weeks, SalaryBasis.MIDPOINT)
    points = weekly_trend(snapshots, week(latest), weeks, SalaryBasis.MIDPOINT)
    first = max(latest - weeks + 1, present[0])
    assert [p.week for p in points] == [week(i) for i in range(first, latest + 1)]
    for i, point in zip(range(first, latest + 1), points, strict=True):
        # The oracle: each role as of its latest week at or before i, added up by hand.
        standing = [h[max(j for j in h if j <= i)] for h in histories.values() if h and min(h) <= i]
        mids = [m for _, ms in standing for m in ms]
        assert point.open_positions == sum(o for o, _ in standing)
        assert point.salary.n == len(mids)
        assert point.salary.median == interpolate(mids, 0.5)
        assert point.salary.average == (sum(mids) / len(mids) if mids else None)
        assert point.carried_forward == all(i not in h for h in histories.values())


@given(HISTORIES, st.integers(1, 8))
def test_the_newest_weeks_plus_one_documents_per_role_give_the_same_trend(
    histories: dict[str, dict[int, tuple[int, list[int]]]], weeks: int
) -> None:
    # What the API reads: each role's newest `weeks + 1` documents, not its whole history.
    by_role = {r: [doc(i, o, m) for i, (o, m) in h.items()] for r, h in histories.items()}
    newest = {r: sorted(d, key=lambda x: x["week"])[-(weeks + 1) :] for r, d in by_role.items()}
    present = sorted({i for h in histories.values() for i in h})
    if not present:
        return
    end = week(present[-1])
    full = market_snapshots(by_role, end, weeks, SalaryBasis.MIDPOINT)
    read = market_snapshots(newest, end, weeks, SalaryBasis.MIDPOINT)
    basis = SalaryBasis.MIDPOINT
    assert weekly_trend(read, end, weeks, basis) == weekly_trend(full, end, weeks, basis)


@given(HISTORIES, st.integers(1, 8), st.integers(0, 14))
def test_the_weeks_to_read_of_each_role_give_the_same_trend_and_change(
    histories: dict[str, dict[int, tuple[int, list[int]]]], weeks: int, clock_week: int
) -> None:
    # What the API reads now (services/weekly_read.py): per role `weeks_to_read`, at most
    # `weeks + 1` and none older than the document standing at the window's start.
    by_role = {r: [doc(i, o, m) for i, (o, m) in h.items()] for r, h in histories.items()}

    def picked(end: str, count: int) -> dict[str, list[dict[str, Any]]]:
        out = {}
        for role, docs in by_role.items():
            kept = set(weeks_to_read(sorted(d["week"] for d in docs), end, count))
            out[role] = [d for d in docs if d["week"] in kept]
        return out

    present = sorted({i for h in histories.values() for i in h})
    if present:
        end, basis = week(present[-1]), SalaryBasis.MIDPOINT
        full = market_snapshots(by_role, end, weeks, basis)
        read = market_snapshots(picked(end, weeks + 1), end, weeks, basis)
        assert weekly_trend(read, end, weeks, basis) == weekly_trend(full, end, weeks, basis)
    clock = datetime.combine(MONDAY + timedelta(weeks=clock_week), datetime.min.time(), UTC)
    until = week_label(newest_complete_week(clock))
    assert open_positions_change(picked(until, 2), clock) == open_positions_change(by_role, clock)


def test_a_role_unchanged_since_before_the_window_carries_into_it() -> None:
    by_role = {"a": [doc(0, 4, [250_000])], "b": [doc(9, 1, []), doc(10, 2, [])]}
    snapshots = market_snapshots(by_role, week(10), 2, SalaryBasis.MIDPOINT)
    points = weekly_trend(snapshots, week(10), 2, SalaryBasis.MIDPOINT)
    assert [(p.week, p.open_positions, p.carried_forward) for p in points] == [
        (week(9), 5, False),
        (week(10), 6, False),
    ]
    assert [p.open_positions_change for p in points] == [None, 1]
    assert points[1].salary.median == 250_000.0
    assert snapshots[0]["salary"].keys() == {"mid"}  # only the basis asked for


@pytest.mark.parametrize(
    ("clock", "newest"),
    [
        (datetime(2026, 11, 2, 0, 0, tzinfo=UTC), date(2026, 10, 26)),  # W45 starts: W44 done
        (datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC), date(2026, 10, 19)),  # W44 not yet
        (datetime(2026, 11, 5, 12, tzinfo=UTC), date(2026, 10, 26)),
        # 01:00 on Monday in UTC+2 is still Sunday in UTC: W44 is not complete.
        (datetime(2026, 11, 2, 1, 0, tzinfo=timezone(timedelta(hours=2))), date(2026, 10, 19)),
    ],
)
def test_the_newest_complete_week_is_the_last_one_the_clock_has_passed(
    clock: datetime, newest: date
) -> None:
    assert newest_complete_week(clock) == newest


def test_open_positions_change_compares_the_two_newest_complete_weeks() -> None:
    clock = datetime.combine(MONDAY + timedelta(weeks=5, days=3), datetime.min.time(), UTC)
    # Week 5 is in progress; weeks 4 and 3 are the two newest complete ones.
    by_role = {"a": [doc(1, 10, []), doc(4, 12, [])], "b": [doc(3, 5, [])]}
    change = open_positions_change(by_role, clock)
    assert change is not None
    assert (change.week, change.previous_week) == (week(4), week(3))
    assert (change.open_positions, change.previous_open_positions) == (17, 15)
    assert change.change == 2
    assert change.change_pct == pytest.approx(2 / 15 * 100)


def test_open_positions_change_is_null_without_a_previous_week() -> None:
    clock = datetime.combine(MONDAY + timedelta(weeks=5), datetime.min.time(), UTC)
    assert open_positions_change({"a": [doc(4, 3, [])]}, clock) is None
    assert open_positions_change({}, clock) is None
    empty_before = open_positions_change({"a": [doc(3, 0, []), doc(4, 3, [])]}, clock)
    assert empty_before is not None
    assert (empty_before.change, empty_before.change_pct) == (3, None)
