from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.distribution import Bucket
from rolepulse.domain.figures import (
    histogram,
    median_age_days,
    provenance,
    tails,
    top_paying,
)
from rolepulse.domain.model import SalaryBasis


def oracle_quantile(values: list[int], q: float) -> float:
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


@given(st.lists(st.integers(10_000, 900_000), min_size=1, max_size=200))
def test_p10_and_p90_interpolate_like_numpy(values: list[int]) -> None:
    p10, p90 = tails(Counter(values))
    assert p10 == pytest.approx(oracle_quantile(values, 0.1))
    assert p90 == pytest.approx(oracle_quantile(values, 0.9))


def test_histogram_buckets_are_contiguous_and_aligned() -> None:
    hist = {101_000: 2, 119_999: 1, 150_000: 3}
    assert histogram(hist, 25_000) == [
        Bucket(100_000, 125_000, 3),
        Bucket(125_000, 150_000, 0),
        Bucket(150_000, 175_000, 3),
    ]
    assert histogram({}, 10_000) == []


@given(st.lists(st.integers(10_000, 5_000_000), min_size=1, max_size=100), st.integers(1, 7))
def test_histogram_counts_everything_within_its_bound(values: list[int], scale: int) -> None:
    width = scale * 5_000
    buckets = histogram(Counter(values), width, max_buckets=30)
    assert sum(b.count for b in buckets) == len(values)
    assert len(buckets) <= 30
    assert all(b.high is not None for b in buckets[:-1])
    for b in buckets:  # each bucket holds exactly the values in its range
        inside = [v for v in values if v >= b.low and (b.high is None or v < b.high)]
        assert b.count == len(inside)


def test_an_outlier_lands_in_an_open_ended_last_bucket() -> None:
    buckets = histogram({100_000: 5, 4_900_000: 1}, 10_000, max_buckets=10)
    assert len(buckets) == 10
    assert buckets[-1] == Bucket(190_000, None, 1)


def test_top_paying_companies_need_enough_postings_and_rank_by_average() -> None:
    pay = {
        "Acme": {"n": 3, "sum_mid": 600_000, "sum_max": 900_000},
        "Globex": {"n": 2, "sum_mid": 700_000},
        "Initech%2Eio": {"n": 4, "sum_mid": 800_000},
        "Umbrella": {"n": 5, "sum_mid": 1_500_000},
    }
    ranked = top_paying(pay, SalaryBasis.MIDPOINT, 10, 3)
    assert [(c.name, c.n, c.average) for c in ranked] == [
        ("Umbrella", 5, 300_000.0),
        ("Acme", 3, 200_000.0),
        ("Initech.io", 4, 200_000.0),
    ]
    assert [c.name for c in top_paying(pay, SalaryBasis.MIDPOINT, 1, 1)] == ["Globex"]
    assert top_paying(None, SalaryBasis.MAX, 5, 3) == []


def test_median_age_counts_whole_utc_days_from_the_stream_clock() -> None:
    now = datetime(2026, 11, 10, 3, tzinfo=UTC)
    first_seen = {"2026-11-10": 1, "2026-11-08": 2, "2026-11-01": 1, "2026-11-12": 1}
    # ages 0, 2, 2, 9 and 0 (first seen after the clock's day) -> median 2
    assert median_age_days(first_seen, now) == 2.0
    assert median_age_days({"2026-11-09": 1, "2026-11-06": 1}, now) == 2.5
    assert median_age_days(first_seen, None) is None
    assert median_age_days({}, now) is None


def test_provenance_counts_each_source() -> None:
    assert provenance({"text": 2, "structured": 5}) == {
        "structured": 5,
        "text": 2,
        "description": 0,
    }
    assert provenance(None) == {"structured": 0, "text": 0, "description": 0}
