"""Prepared histograms and rankings (rolepulse/domain/distribution.py, aggregates.ranking,
figures.pay_ranking) against plain oracles: sorted lists, per-value bucketing, full sorts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.aggregates import encode_key, ranking, top_counts
from rolepulse.domain.distribution import Bucket, Distribution
from rolepulse.domain.figures import PayingCompany, best_paying, pay_ranking, top_paying
from rolepulse.domain.model import SalaryBasis

HISTOGRAMS = st.dictionaries(
    st.integers(min_value=1, max_value=2_000_000), st.integers(min_value=-2, max_value=6)
)


def oracle_quantile(values: list[int], q: float) -> float:
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def oracle_buckets(hist: dict[int, int], width: int, max_buckets: int) -> list[Bucket]:
    """Every value dropped into its bucket one by one (the definition, written out)."""
    present = sorted((v, c) for v, c in hist.items() if c > 0)
    if not present:
        return []
    first = present[0][0] // width * width
    needed = (present[-1][0] - first) // width + 1
    size = min(needed, max_buckets)
    counts = [0] * size
    for value, count in present:
        counts[min((value - first) // width, size - 1)] += count
    return [
        Bucket(
            first + i * width,
            None if needed > max_buckets and i == size - 1 else first + (i + 1) * width,
            counts[i],
        )
        for i in range(size)
    ]


@given(HISTOGRAMS, st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]))
def test_quantiles_match_a_sorted_list(hist: dict[int, int], q: float) -> None:
    values = [v for v, c in hist.items() for _ in range(max(c, 0))]
    (found,) = Distribution.of(hist).quantiles((q,))
    assert found == (oracle_quantile(values, q) if values else None)


@given(
    HISTOGRAMS,
    st.sampled_from([1_000, 5_000, 25_000, 1_000_000]),
    st.integers(min_value=1, max_value=120),
)
def test_buckets_match_bucketing_value_by_value(
    hist: dict[int, int], width: int, max_buckets: int
) -> None:
    assert Distribution.of(hist).buckets(width, max_buckets) == oracle_buckets(
        hist, width, max_buckets
    )


@given(HISTOGRAMS)
def test_low_high_and_total(hist: dict[int, int]) -> None:
    present = [v for v, c in hist.items() if c > 0]
    d = Distribution.of(hist)
    assert (d.low, d.high) == ((min(present), max(present)) if present else (None, None))
    assert d.total == sum(c for c in hist.values() if c > 0)


def test_stored_histograms_decode_their_string_keys() -> None:
    d = Distribution.of_counters({"250000": 2, "90000": 1, "100": 0, "7": "x"})
    assert d.values == (90_000, 250_000)
    assert d.ends == (1, 3)
    assert Distribution.of_counters(None) == Distribution((), ())


NAMES = st.text(alphabet="ab.$% ", min_size=1, max_size=4)


@given(st.dictionaries(NAMES, st.integers(min_value=-1, max_value=5)))
def test_ranking_is_every_top_list(counts: dict[str, int]) -> None:
    stored = {encode_key(name): count for name, count in counts.items()}
    expected = sorted(((n, c) for n, c in counts.items() if c > 0), key=lambda e: (-e[1], e[0]))
    assert ranking(stored) == expected
    for limit in (1, 3, 100):
        assert top_counts(stored, limit) == expected[:limit]


PAY = st.dictionaries(
    NAMES,
    st.fixed_dictionaries(
        {
            "n": st.integers(min_value=0, max_value=6),
            "sum_min": st.integers(min_value=0, max_value=10**6),
            "sum_max": st.integers(min_value=0, max_value=10**6),
            "sum_mid": st.integers(min_value=0, max_value=10**6),
        }
    ),
)


@given(PAY, st.sampled_from(list(SalaryBasis)), st.integers(0, 8), st.integers(-1, 7))
def test_top_paying_is_a_filtered_prefix_of_the_pay_ranking(
    pay: dict[str, dict[str, int]], basis: SalaryBasis, limit: int, min_postings: int
) -> None:
    companies = [
        PayingCompany(name, raw["n"], raw[f"sum_{basis.value}"] / raw["n"])
        for name, raw in pay.items()
        if raw["n"] >= max(min_postings, 1)
    ]
    expected = sorted(companies, key=lambda c: (-c.average, c.name))[:limit]
    stored = {encode_key(name): raw for name, raw in pay.items()}
    assert top_paying(stored, basis, limit, min_postings) == expected
    assert best_paying(pay_ranking(stored, basis), limit, min_postings) == expected
