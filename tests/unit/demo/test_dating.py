"""The demo market dated relative to today: only times move, by whole weeks, never ahead."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from rolepulse.consumers.decode import decode
from rolepulse.consumers.plan import plan_batch
from rolepulse.demo.dating import MIN_AGE, WEEK, parse, shift_to_now, week_shift
from rolepulse.demo.seed_page import generate
from rolepulse.domain.lifecycle import Closed, Expired, Observed
from rolepulse.domain.normalize import Normalizer
from rolepulse.taxonomy import load_taxonomy

Event = dict[str, object]
NEWEST = datetime(2026, 11, 1, 23, 54, 29, tzinfo=UTC)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 25, 22, 0, tzinfo=UTC),
        datetime(2027, 3, 1, 0, 0, tzinfo=UTC),
        NEWEST + MIN_AGE,  # exactly a day later: no shift
        datetime(2026, 6, 1, 12, 0, tzinfo=UTC),  # a clock earlier than the demo: backwards
    ],
)
def test_the_newest_event_lands_one_to_eight_days_before_now(now: datetime) -> None:
    delta = week_shift(NEWEST, now)
    assert delta % WEEK == timedelta(0)
    assert MIN_AGE <= now - (NEWEST + delta) < MIN_AGE + WEEK


def _event(at: str, posted_at: str | None) -> Event:
    return {
        "event_id": "e1",
        "occurred_at": at,
        "posting": {"source_id": "1", "title": "x", "posted_at": posted_at},
    }


def test_shift_moves_every_timestamp_and_nothing_else() -> None:
    events = [
        _event("2026-11-01T10:00:00Z", "2026-10-30T08:00:00Z"),
        _event("2026-10-05T00:00:00Z", None),
    ]
    shifted = shift_to_now(events, datetime(2026, 11, 25, 22, 0, tzinfo=UTC))
    assert [e["occurred_at"] for e in shifted] == ["2026-11-22T10:00:00Z", "2026-10-26T00:00:00Z"]
    assert shifted[0]["posting"] == {
        "source_id": "1",
        "title": "x",
        "posted_at": "2026-11-20T08:00:00Z",
    }
    assert shifted[1]["posting"] == {"source_id": "1", "title": "x", "posted_at": None}
    assert events[0]["occurred_at"] == "2026-11-01T10:00:00Z"  # the originals are untouched
    assert shift_to_now([], datetime.now(UTC)) == []


@pytest.fixture(scope="module")
def demo() -> list[Event]:
    return generate(7)


def test_shifted_demo_keeps_weeks_and_is_never_in_the_future(demo: list[Event]) -> None:
    now = datetime(2026, 12, 17, 3, 0, tzinfo=UTC)
    shifted = shift_to_now(demo, now)
    times = [
        (parse(str(a["occurred_at"])), parse(str(b["occurred_at"])))
        for a, b in zip(demo, shifted, strict=True)
    ]
    delta = times[0][1] - times[0][0]
    assert all(after - before == delta for before, after in times)
    # Whole weeks: every event keeps its weekday, so ISO weeks (weekly snapshots) stay aligned.
    assert delta % WEEK == timedelta(0)
    assert all(after.isoweekday() == before.isoweekday() for before, after in times)
    assert max(after for _, after in times) <= now - MIN_AGE


def test_shifted_demo_yields_the_same_figures(demo: list[Event]) -> None:
    normalizer = Normalizer(load_taxonomy())

    def increments(events: list[Event]) -> object:
        outcomes = [decode(json.dumps(e).encode(), normalizer) for e in events]
        steps = [t for t in outcomes if isinstance(t, Observed | Closed | Expired)]
        return plan_batch(steps, {}, set()).increments

    shifted = shift_to_now(demo, datetime(2026, 11, 25, 22, 0, tzinfo=UTC))
    delta = parse(str(shifted[0]["occurred_at"])) - parse(str(demo[0]["occurred_at"]))
    # The rollups keep open postings per first-seen day (posting ages): those dates move with
    # the shift, all by the same whole days; every other counter is the same.
    assert _moved_back(increments(shifted), delta) == increments(demo)


def _moved_back(increments: object, delta: timedelta) -> object:
    assert isinstance(increments, dict)

    def day(match: re.Match[str]) -> str:
        return f"first_seen.{date.fromisoformat(match.group(1)) - delta}"

    pattern = re.compile(r"first_seen\.(\d{4}-\d{2}-\d{2})")
    return {
        doc: {pattern.sub(day, path): value for path, value in paths.items()}
        for doc, paths in increments.items()
    }
