"""Sanity checks verify adds to the recomputation: the stream clock, roles emptied by a sweep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rolepulse.domain.expiry import RoleSweep
from rolepulse.domain.sanity import SweepRecord, clock_problems, duration, emptied_roles

WALL = datetime(2026, 11, 25, 12, tzinfo=UTC)
SKEW = timedelta(hours=24)


def test_a_clock_within_the_skew_or_behind_the_wall_clock_is_fine() -> None:
    assert clock_problems(None, WALL, SKEW) == []  # nothing applied yet
    assert clock_problems(WALL - timedelta(days=400), WALL, SKEW) == []  # a backfill
    assert clock_problems(WALL + SKEW, WALL, SKEW) == []


def test_a_clock_ahead_of_the_wall_clock_by_more_than_the_skew_is_a_problem() -> None:
    [line] = clock_problems(datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), WALL, SKEW)
    assert line.startswith("stream clock 9999-12-31T23:59:59+00:00 is 2912114 days ahead of")
    assert "(allowed: 24.0 h)" in line
    assert clock_problems(WALL + SKEW + timedelta(seconds=1), WALL, SKEW) != []


def sweep(at: datetime, forced: bool = False, **roles: tuple[int, int]) -> SweepRecord:
    tallies = {r.replace("_", "-"): RoleSweep(open=o, expired=e) for r, (o, e) in roles.items()}
    return SweepRecord(at=at, clock=at - timedelta(days=1), forced=forced, roles=tallies)


def test_a_role_emptied_by_one_sweep_is_named_with_the_sweep() -> None:
    sweeps = [
        sweep(WALL, forced=True, data_scientist=(203, 203), llm_engineer=(50, 49)),
        sweep(WALL - timedelta(hours=1), mlops_engineer=(38, 38)),
    ]
    lines = emptied_roles(sweeps)
    assert len(lines) == 2
    assert "emptied role mlops-engineer: expired 38 of 38" in lines[0]  # oldest sweep first
    assert "(forced)" in lines[1]
    assert "emptied role data-scientist: expired 203 of 203" in lines[1]


def test_partial_sweeps_and_sweeps_of_empty_roles_are_fine() -> None:
    sweeps = [
        sweep(WALL, data_scientist=(203, 20)),
        sweep(WALL + timedelta(minutes=1), data_scientist=(183, 182)),  # one posting left
        sweep(WALL + timedelta(minutes=2), llm_engineer=(0, 0)),
        sweep(WALL + timedelta(minutes=3), nlp_engineer=(4, 4)),  # too small to point at a clock
    ]
    assert emptied_roles(sweeps) == []


def test_durations_read_in_hours_then_days() -> None:
    assert duration(timedelta(hours=24)) == "24.0 h"
    assert duration(timedelta(minutes=90)) == "1.5 h"
    assert duration(timedelta(days=2, hours=5)) == "2 days"
