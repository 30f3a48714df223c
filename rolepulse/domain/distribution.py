"""A salary histogram prepared once for many reads: its values sorted, with cumulative counts.

A figure reads little of a histogram (three quantiles, a hundred buckets), but sorting it costs
the number of distinct values each time: thousands in a large role. Prepared once (per figure
set and data version, services/graphql/derived.py), a quantile is a binary search and a bucket
two. `aggregates.quantiles` and `figures.histogram` are defined through this class, so there is
one definition of each figure.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bucket:
    """Postings whose annual pay on the basis is in [low, high); `high` None: low and above."""

    low: int
    high: int | None
    count: int


@dataclass(frozen=True, slots=True)
class Distribution:
    """A {value: count} multiset: its values with a positive count, ascending, and how many of
    the multiset's members are at or below each."""

    values: tuple[int, ...]
    ends: tuple[int, ...]  # ends[i] = the counts of values[0..i] summed

    @classmethod
    def of(cls, hist: Mapping[int, int]) -> Distribution:
        values: list[int] = []
        ends: list[int] = []
        total = 0
        for value, count in sorted(hist.items()):
            if count > 0:
                total += count
                values.append(value)
                ends.append(total)
        return cls(tuple(values), tuple(ends))

    @classmethod
    def of_counters(cls, raw: object) -> Distribution:
        """From a stored histogram: {"<whole dollars>": count}; anything else is empty."""
        if not isinstance(raw, Mapping):
            return cls((), ())
        return cls.of({int(k): _int(v) for k, v in raw.items()})

    @property
    def total(self) -> int:
        return self.ends[-1] if self.ends else 0

    @property
    def low(self) -> int | None:
        return self.values[0] if self.values else None

    @property
    def high(self) -> int | None:
        return self.values[-1] if self.values else None

    def quantiles(self, qs: Sequence[float]) -> list[float | None]:
        """Linear interpolation between order statistics (numpy's default method): position
        h = (n - 1) * q, value = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h])."""
        total = self.total
        if total == 0:
            return [None for _ in qs]
        out: list[float | None] = []
        for q in qs:
            h = (total - 1) * q
            lo = int(h)
            frac = h - lo
            lo_value = self._order_statistic(lo)
            out.append(
                float(lo_value)
                if frac == 0
                else lo_value + frac * (self._order_statistic(lo + 1) - lo_value)
            )
        return out

    def buckets(self, width: int, max_buckets: int) -> list[Bucket]:
        """Contiguous buckets of `width`, aligned on its multiples, from the one holding the
        lowest value to the one holding the highest (empty ones included), at most
        `max_buckets`: then the last one is open-ended and holds every higher value."""
        if not self.values:
            return []
        first = self.values[0] // width * width
        needed = (self.values[-1] - first) // width + 1
        size = min(needed, max_buckets)
        open_ended = needed > max_buckets
        out: list[Bucket] = []
        below = 0  # members below the current bucket's lower bound
        for i in range(size):
            low = first + i * width
            last = i == size - 1
            upto = self.total if last else self._count_below(low + width)
            out.append(Bucket(low, None if open_ended and last else low + width, upto - below))
            below = upto
        return out

    def _order_statistic(self, index: int) -> int:
        return self.values[bisect_right(self.ends, index)]

    def _count_below(self, bound: int) -> int:
        i = bisect_left(self.values, bound)
        return self.ends[i - 1] if i else 0


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, int | float) else 0
