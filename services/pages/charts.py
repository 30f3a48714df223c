"""Chart geometry for the pages' inline SVG: pure functions from figures to coordinates.

The templates draw what these return (templates/_charts.html) and CSS colours it, so the SVG
carries no script and no style attribute (the pages' CSP allows neither). Coordinates are in
the chart's own units (`WIDTH` x `HEIGHT`, its viewBox); the SVG scales to its container, so a
chart never makes a narrow screen scroll sideways. The units are chosen near a phone's width,
so the 11-unit labels stay legible there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 400
HEIGHT = 220
# Room for the y labels on the left ("$300K", "40%") and the x labels below.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 44.0, 10.0, 10.0, 24.0
BAR_FILL = 0.84  # share of a bucket's width its bars take; the rest separates buckets
NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass(frozen=True, slots=True)
class Tick:
    at: float  # x (for an x tick) or y (for a y tick) in chart units
    label: str
    anchor: str = "middle"  # an x label's text-anchor: "start"/"end" at the plot's edges


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    label: str  # what a pointer over it shows (an SVG <title>)


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True, slots=True)
class Line:
    series: int
    # Runs of consecutive known values: a week without a figure breaks the line, never
    # draws it through zero.
    segments: tuple[tuple[Point, ...], ...]

    def paths(self) -> list[str]:
        """Each segment as an SVG `points` attribute."""
        return [" ".join(f"{p.x},{p.y}" for p in segment) for segment in self.segments]

    @property
    def points(self) -> tuple[Point, ...]:
        return tuple(p for segment in self.segments for p in segment)


@dataclass(frozen=True, slots=True)
class Chart:
    plot: Box
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    width: int = WIDTH
    height: int = HEIGHT


@dataclass(frozen=True, slots=True)
class Bucket:
    """A histogram bucket as the API answers it: [start, end) dollars; end None: open-ended."""

    start: int
    end: int | None
    count: int


def _r(value: float) -> float:
    return round(value, 1)


def nice_step(span: float, target: int) -> float:
    """The step of 1, 2, 2.5 or 5 times a power of ten closest above span / target."""
    if span <= 0 or target < 1:
        return 1.0
    raw = span / target
    power = 10.0 ** math.floor(math.log10(raw))
    return next(s * power for s in NICE_STEPS if s * power >= raw * (1 - 1e-9))


def nice_ticks(low: float, high: float, target: int = 4) -> list[float]:
    """Round values from the last at or below `low` to the first at or above `high`."""
    if high < low:
        low, high = high, low
    if high == low:
        high = low + 1
    step = nice_step(high - low, target)
    first = math.floor(low / step + 1e-9) * step
    ticks = [first]
    while ticks[-1] < high - 1e-9 * step:
        ticks.append(first + len(ticks) * step)
    return [round(t, 10) for t in ticks]


EDGE = 16.0  # an x label this close to a plot edge is aligned to it, so it stays in the chart


def _x_tick(plot: Box, at: float, label: str) -> Tick:
    anchor = "start" if at - plot.left < EDGE else "end" if plot.right - at < EDGE else "middle"
    return Tick(_r(at), label, anchor)


def _plot_box() -> Box:
    return Box(MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM)


def _y_ticks(plot: Box, ticks: Sequence[float], fmt: Callable[[float], str]) -> tuple[Tick, ...]:
    low, high = ticks[0], ticks[-1]
    return tuple(
        Tick(_r(plot.bottom - (t - low) / (high - low) * plot.height), fmt(t)) for t in ticks
    )


def histogram_chart(
    series: Sequence[Sequence[Bucket]],
    bucket_width: int,
    money: Callable[[float], str],
    names: Sequence[str],
) -> Chart | None:
    """Side-by-side bars of each series' share of its postings per salary bucket.

    Shares rather than counts, so two roles with different numbers of postings are compared
    by the shape of their pay. Buckets of every series are aligned on multiples of the width
    (the API's contract), so one x axis holds them all. None when no series has a posting.
    """
    totals = [sum(b.count for b in buckets) for buckets in series]
    if not any(totals):
        return None
    starts = [b.start for buckets in series for b in buckets]
    ends = [b.end if b.end is not None else b.start + bucket_width for s in series for b in s]
    domain_start, domain_end = min(starts), max(ends)
    slots = max(1, (domain_end - domain_start) // bucket_width)
    shares = [
        {b.start: b.count / total * 100 for b in buckets} if total else {}
        for buckets, total in zip(series, totals, strict=True)
    ]
    top = max(max(s.values(), default=0.0) for s in shares)
    y_values = nice_ticks(0, top or 1, 4)
    plot = _plot_box()
    slot_width = plot.width / slots
    bar_width = slot_width * BAR_FILL / len(series)

    def y(share: float) -> float:
        return plot.bottom - share / y_values[-1] * plot.height

    bars: list[Bar] = []
    for index, (buckets, total) in enumerate(zip(series, totals, strict=True)):
        for bucket in buckets:
            if bucket.count == 0:
                continue
            share = bucket.count / total * 100
            slot = (bucket.start - domain_start) // bucket_width
            x = plot.left + slot * slot_width + slot_width * (1 - BAR_FILL) / 2 + index * bar_width
            span = (
                f"{money(bucket.start)}–{money(bucket.end)}"
                if bucket.end is not None
                else f"{money(bucket.start)} and more"
            )
            label = f"{names[index]}, {span}: {bucket.count} of {total} postings ({share:.0f}%)"
            bars.append(
                Bar(_r(x), _r(y(share)), _r(bar_width), _r(plot.bottom - y(share)), index, label)
            )

    x_values = [
        v for v in nice_ticks(domain_start, domain_end, 5) if domain_start <= v <= domain_end
    ]
    x_ticks = tuple(
        _x_tick(
            plot,
            plot.left + (v - domain_start) / (domain_end - domain_start) * plot.width,
            money(v),
        )
        for v in x_values
    )
    return Chart(plot, x_ticks, _y_ticks(plot, y_values, lambda t: f"{t:g}%"), bars=tuple(bars))


def line_chart(
    labels: Sequence[str],
    series: Sequence[Sequence[float | None]],
    fmt: Callable[[float], str],
    names: Sequence[str],
    *,
    zero_based: bool,
) -> Chart | None:
    """One line per series over evenly spaced x labels (weeks); None with no value at all.

    `zero_based` for counts (an axis from zero shows their size); salaries start near their
    lowest value, so a few percent of change stays visible.
    """
    known = [v for values in series for v in values if v is not None]
    if not known or not labels:
        return None
    low, high = (0.0 if zero_based else min(known)), max(known)
    if low == high:  # one flat value: give it room above (and below, if not from zero)
        pad = abs(high) * 0.1 or 1.0
        low, high = (low if zero_based else low - pad), high + pad
    y_values = nice_ticks(low, high, 4)
    plot = _plot_box()
    step = plot.width / (len(labels) - 1) if len(labels) > 1 else 0.0

    def x(i: int) -> float:
        return plot.left + (i * step if len(labels) > 1 else plot.width / 2)

    def y(v: float) -> float:
        return plot.bottom - (v - y_values[0]) / (y_values[-1] - y_values[0]) * plot.height

    lines: list[Line] = []
    for index, values in enumerate(series):
        segments: list[tuple[Point, ...]] = []
        run: list[Point] = []
        for i, value in enumerate(values):
            if value is None:
                if run:
                    segments.append(tuple(run))
                run = []
                continue
            run.append(Point(_r(x(i)), _r(y(value)), f"{names[index]}, {labels[i]}: {fmt(value)}"))
        if run:
            segments.append(tuple(run))
        lines.append(Line(index, tuple(segments)))

    # At most six x labels, evenly picked, the newest week always among them.
    every = max(1, math.ceil(len(labels) / 6))
    picked = [i for i in range(len(labels)) if (len(labels) - 1 - i) % every == 0]
    x_ticks = tuple(_x_tick(plot, x(i), labels[i]) for i in picked)
    return Chart(plot, x_ticks, _y_ticks(plot, y_values, fmt), lines=tuple(lines))
