"""Chart geometry: ticks, histogram bars, trend lines, all inside the chart's own box."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.services.pages import fmt
from rolepulse.services.pages.charts import (
    HEIGHT,
    WIDTH,
    Bucket,
    Chart,
    histogram_chart,
    line_chart,
    nice_step,
    nice_ticks,
)

NAMES = ["AI Software Engineer", "AI Product Manager"]


@pytest.mark.parametrize(
    ("span", "target", "step"),
    [(100, 4, 25), (600, 4, 200), (30, 4, 10), (1, 4, 0.25), (360_000, 5, 100_000), (7, 4, 2)],
)
def test_nice_step(span: float, target: int, step: float) -> None:
    assert nice_step(span, target) == pytest.approx(step)


def test_nice_ticks_cover_the_range_from_round_values() -> None:
    assert nice_ticks(0, 598) == [0, 200, 400, 600]
    assert nice_ticks(174_000, 235_000) == [160_000, 180_000, 200_000, 220_000, 240_000]
    assert nice_ticks(5, 5) == [5, 5.25, 5.5, 5.75, 6]  # a flat range still gets an axis


@given(
    st.floats(min_value=-1e7, max_value=1e7, allow_nan=False),
    st.floats(min_value=1e-3, max_value=1e7, allow_nan=False),
)
def test_nice_ticks_always_bracket_the_values(low: float, span: float) -> None:
    ticks = nice_ticks(low, low + span)
    assert ticks[0] <= low + 1e-6 * span
    assert ticks[-1] >= low + span - 1e-6 * span
    assert 2 <= len(ticks) <= 12
    steps = {round(b - a, 6) for a, b in pairwise(ticks)}
    assert len(steps) == 1  # evenly spaced


def inside(chart: Chart) -> None:
    for bar in chart.bars:
        assert chart.plot.left - 0.1 <= bar.x <= bar.x + bar.width <= chart.plot.right + 0.1
        assert chart.plot.top - 0.1 <= bar.y <= bar.y + bar.height <= chart.plot.bottom + 0.1
    for line in chart.lines:
        for p in line.points:
            assert chart.plot.left - 0.1 <= p.x <= chart.plot.right + 0.1
            assert chart.plot.top - 0.1 <= p.y <= chart.plot.bottom + 0.1
    for tick in chart.x_ticks:
        assert 0 <= tick.at <= WIDTH
    for tick in chart.y_ticks:
        assert 0 <= tick.at <= HEIGHT


def test_histogram_of_two_roles_shares_one_axis() -> None:
    a = [Bucket(100_000, 120_000, 10), Bucket(120_000, 140_000, 30)]
    b = [Bucket(80_000, 100_000, 5), Bucket(100_000, 120_000, 0), Bucket(120_000, 140_000, 15)]
    chart = histogram_chart([a, b], 20_000, fmt.money, NAMES)
    assert chart is not None
    inside(chart)
    # An empty bucket draws nothing; the rest, one bar each.
    assert [(bar.series, bar.label.split(",")[1].strip()) for bar in chart.bars] == [
        (0, "$100K–$120K: 10 of 40 postings (25%)"),
        (0, "$120K–$140K: 30 of 40 postings (75%)"),
        (1, "$80K–$100K: 5 of 20 postings (25%)"),
        (1, "$120K–$140K: 15 of 20 postings (75%)"),
    ]
    slot = chart.plot.width / 3  # $80K..$140K in $20K buckets
    first_a, second_a, first_b, second_b = chart.bars
    # The same bucket of both roles sits in the same slot, side by side.
    assert second_a.x - first_a.x == pytest.approx(slot, abs=0.2)
    assert second_b.x - first_b.x == pytest.approx(2 * slot, abs=0.2)
    assert second_b.x - second_a.x == pytest.approx(first_a.width, abs=0.2)
    # Heights are shares of each role's own postings: 75% is as tall for both.
    assert second_a.height == pytest.approx(second_b.height, abs=0.1)
    assert second_a.height == pytest.approx(3 * first_a.height, abs=0.2)
    assert [t.label for t in chart.y_ticks][-1] == "80%"


def test_an_open_ended_last_bucket_and_a_single_role() -> None:
    chart = histogram_chart([[Bucket(1_000_000, None, 2)]], 20_000, fmt.money, ["Solo"])
    assert chart is not None
    inside(chart)
    assert chart.bars[0].label == "Solo, $1.0M and more: 2 of 2 postings (100%)"


def test_no_postings_no_chart() -> None:
    assert histogram_chart([[], [Bucket(1, 2, 0)]], 20_000, fmt.money, NAMES) is None


def test_trend_lines_break_at_missing_weeks() -> None:
    labels = ["Oct 26", "Nov 2", "Nov 9", "Nov 16"]
    chart = line_chart(
        labels, [[158, 316, 475, 598], [None, 298, None, 594]], fmt.count_of, NAMES,
        zero_based=True,
    )  # fmt: skip
    assert chart is not None
    inside(chart)
    a, b = chart.lines
    assert [len(s) for s in a.segments] == [4]
    assert [len(s) for s in b.segments] == [1, 1]  # no line drawn across the gaps
    xs = [p.x for p in a.points]
    gaps = [right - left for left, right in pairwise(xs)]
    assert max(gaps) - min(gaps) <= 0.1  # weeks evenly spaced (coordinates to 0.1)
    assert xs[0] == chart.plot.left
    assert xs[-1] == chart.plot.right
    assert [t.label for t in chart.y_ticks] == ["0", "200", "400", "600"]
    assert a.points[-1].label == "AI Software Engineer, Nov 16: 598"
    assert a.paths()[0].startswith(f"{a.points[0].x},{a.points[0].y} ")
    # The first and last week labels are aligned to the plot's edges, so they stay inside.
    assert [t.anchor for t in chart.x_ticks] == ["start", "middle", "middle", "end"]


def test_salary_lines_start_near_their_lowest_value() -> None:
    chart = line_chart(["W1", "W2"], [[228_000, 235_000]], fmt.money, ["A"], zero_based=False)
    assert chart is not None
    assert [t.label for t in chart.y_ticks] == ["$228K", "$230K", "$232K", "$234K", "$236K"]


def test_one_week_sits_in_the_middle_and_a_flat_line_has_room() -> None:
    chart = line_chart(["W1"], [[200_000]], fmt.money, ["A"], zero_based=False)
    assert chart is not None
    inside(chart)
    point = chart.lines[0].points[0]
    assert point.x == pytest.approx((chart.plot.left + chart.plot.right) / 2, abs=0.1)
    assert chart.plot.top < point.y < chart.plot.bottom


def test_no_values_no_chart() -> None:
    assert line_chart(["W1"], [[None]], fmt.money, ["A"], zero_based=False) is None
    assert line_chart([], [[]], fmt.money, ["A"], zero_based=True) is None


def test_many_weeks_get_at_most_six_labels_with_the_newest() -> None:
    labels = [f"W{i}" for i in range(12)]
    chart = line_chart(labels, [list(range(12))], fmt.count_of, ["A"], zero_based=True)
    assert chart is not None
    assert len(chart.x_ticks) <= 6
    assert chart.x_ticks[-1].label == "W11"
