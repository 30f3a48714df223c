"""Salary multisets that land exactly on published figures.

The seed page publishes whole-dollar means and p25/median/p75 computed by linear interpolation
between order statistics (numpy's default). A random multiset would hit them only by luck, so we
build one on purpose: the order statistics the quantiles read are pinned to the published values,
every other value is drawn inside the band between two pins (so sorting cannot move a pin), and a
final pass nudges free values inside their bands until the sums give the exact means.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

GRID = 1000  # free values stay on whole thousands so most of them print as "$140K"
QUANTILES = (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4))


class PayForm(StrEnum):
    """How a disclosed salary is published; rendering turns each into event fields."""

    YEAR = "year"  # structured, yearly
    MONTH = "month"  # structured, monthly (annual values divisible by 12)
    HOUR = "hour"  # structured, hourly (annual values divisible by 2080)
    TEXT_K = "text-k"  # "$140K–$249K"
    TEXT_FULL = "text-full"  # "$140,000 - $249,000 a year"
    TEXT_HOUR = "text-hour"  # "$65 - $90 an hour"
    TEXT_UP_TO = "text-up-to"  # "Up to $220K" (min == max)


@dataclass(frozen=True, slots=True)
class Pay:
    """One posting's annual USD range and the form it is published in."""

    annual_min: int
    annual_max: int
    form: PayForm


@dataclass(frozen=True, slots=True)
class SalaryTarget:
    """Published figures of one role (quantiles on basis MAX) and bounds that keep it plausible."""

    n: int
    mean_min: int
    mean_max: int
    p25: int
    median: int
    p75: int
    low: int  # smallest annual max drawn
    high: int  # largest annual max drawn
    min_floor: int  # smallest annual min allowed
    ratio: tuple[float, float]  # annual min as a share of annual max, before the sum fix


def anchors(n: int, pins: tuple[int, ...]) -> dict[int, int]:
    """Sorted positions the quantiles read, each pinned to its published value."""
    out: dict[int, int] = {}
    for q, value in zip(QUANTILES, pins, strict=True):
        h = (n - 1) * q
        lo = math.floor(h)
        out[lo] = value
        if h != lo:  # interpolation reads the next order statistic too: pin it to the same value
            out[lo + 1] = value
    return out


def solve(target: SalaryTarget, fixed: list[Pay], rng: random.Random) -> list[Pay]:
    """`target.n` pays, including `fixed`, whose figures equal the target exactly.

    Raises ValueError when the bands cannot absorb the sums (a target/bounds design error).
    """
    pins = anchors(target.n, (target.p25, target.median, target.p75))
    bands = _bands(target, pins)
    maxes, bounds, fixed_slots = _draw_maxes(bands, fixed, rng)
    maxes += list(pins.values())
    bounds += [(v, v) for v in pins.values()]
    _spread(maxes, bounds, target.mean_max * target.n - sum(maxes), rng)
    mins = _mins(target, maxes, fixed_slots, rng)
    return [
        fixed_slots.get(i) or Pay(lo, hi, PayForm.YEAR)
        for i, (lo, hi) in enumerate(zip(mins, maxes, strict=True))
    ]


def _bands(target: SalaryTarget, pins: dict[int, int]) -> list[tuple[int, int, int]]:
    """(free slot count, lowest value, highest value) between consecutive pinned groups."""
    edges = [(-1, target.low - GRID), *sorted(pins.items()), (target.n, target.high + GRID)]
    bands = []
    for (i, v), (j, w) in itertools.pairwise(edges):
        if j - i > 1:
            bands.append((j - i - 1, v + GRID, w - GRID))
    return bands


def _draw_maxes(
    bands: list[tuple[int, int, int]], fixed: list[Pay], rng: random.Random
) -> tuple[list[int], list[tuple[int, int]], dict[int, Pay]]:
    maxes: list[int] = []
    bounds: list[tuple[int, int]] = []
    fixed_slots: dict[int, Pay] = {}
    for count, lo, hi in bands:
        inside = [p for p in fixed if lo <= p.annual_max <= hi]
        if len(inside) > count:
            raise ValueError(f"too many fixed pays in band {lo}..{hi}")
        for pay in inside:
            fixed_slots[len(maxes)] = pay
            maxes.append(pay.annual_max)
            bounds.append((pay.annual_max, pay.annual_max))
        for _ in range(count - len(inside)):
            maxes.append(round(rng.uniform(lo, hi) / GRID) * GRID)
            bounds.append((lo, hi))
    if len(fixed_slots) != len(fixed):
        raise ValueError("a fixed pay falls on a pinned value or outside every band")
    return maxes, bounds, fixed_slots


def _mins(
    target: SalaryTarget, maxes: list[int], fixed_slots: dict[int, Pay], rng: random.Random
) -> list[int]:
    mins: list[int] = []
    bounds: list[tuple[int, int]] = []
    for i, top in enumerate(maxes):
        if i in fixed_slots:
            mins.append(fixed_slots[i].annual_min)
            bounds.append((mins[-1], mins[-1]))
            continue
        share = rng.uniform(*target.ratio)
        mins.append(max(target.min_floor, min(top, round(top * share / GRID) * GRID)))
        bounds.append((target.min_floor, top))
    _spread(mins, bounds, target.mean_min * target.n - sum(mins), rng)
    return mins


def _spread(
    values: list[int], bounds: list[tuple[int, int]], diff: int, rng: random.Random
) -> None:
    """Move `values` by `diff` in total, each within its bounds, in GRID steps where possible."""
    order = [i for i, (lo, hi) in enumerate(bounds) if lo < hi]
    while abs(diff) >= GRID:
        step = max(1, abs(diff) // GRID // max(1, len(order))) * GRID
        rng.shuffle(order)
        moved = 0
        for i in order:
            move = min(step, abs(diff) - moved, _room(values[i], bounds[i], diff))
            move -= move % GRID
            values[i] += move if diff > 0 else -move
            moved += move
        if moved == 0:
            raise ValueError(f"cannot move salaries by {diff}: bands too narrow")
        diff += -moved if diff > 0 else moved
    if diff:
        # A sub-GRID remainder (from fixed hourly pays) lands on one free value as odd dollars.
        i = next(i for i in order if _room(values[i], bounds[i], diff) >= abs(diff))
        values[i] += diff


def _room(value: int, bound: tuple[int, int], diff: int) -> int:
    return bound[1] - value if diff > 0 else value - bound[0]
