"""Read-side math of the figures issue 10 adds to a role, from the counters of a figure set
(rolepulse/domain/rollups.py): salary tails and histogram, top paying companies, posting age,
salary provenance. Pure; every figure is exact, derived from exact counters when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from rolepulse.domain.aggregates import decode_key, first_seen_day, quantiles
from rolepulse.domain.distribution import Bucket, Distribution
from rolepulse.domain.model import SalaryBasis, SalarySource

# Salary figures over fewer postings with disclosed pay than this are flagged `lowConfidence`.
LOW_CONFIDENCE_N = 10
# A histogram has at most this many buckets; values beyond the last regular bucket fall into an
# open-ended last one (`high` None), so a single outlier cannot make the answer unbounded.
MAX_BUCKETS = 100
MIN_BUCKET_WIDTH, MAX_BUCKET_WIDTH = 1_000, 1_000_000
SOURCES: tuple[SalarySource, ...] = ("structured", "text", "description")


def histogram(hist: Mapping[int, int], width: int, max_buckets: int = MAX_BUCKETS) -> list[Bucket]:
    """Contiguous buckets of `width` dollars, from the one holding the lowest value to the one
    holding the highest (empty ones included, so a chart needs no gap logic), at most
    `max_buckets`: then the last one is open-ended and holds every higher value."""
    return Distribution.of(hist).buckets(width, max_buckets)


TAILS = (0.1, 0.9)  # p10 and p90


def tails(hist: Mapping[int, int]) -> tuple[float | None, float | None]:
    """(p10, p90) by the same interpolation as p25/median/p75 (numpy's default)."""
    p10, p90 = quantiles(hist, TAILS)
    return p10, p90


@dataclass(frozen=True, slots=True)
class PayingCompany:
    name: str
    n: int  # open postings of the company with disclosed, plausible pay
    average: float  # mean annual USD on the basis


def top_paying(
    company_pay: Mapping[str, object] | None, basis: SalaryBasis, limit: int, min_postings: int
) -> list[PayingCompany]:
    """Companies with at least `min_postings` postings with pay, by average pay on `basis`,
    highest first; ties by name."""
    return best_paying(pay_ranking(company_pay, basis), limit, min_postings)


def pay_ranking(
    company_pay: Mapping[str, object] | None, basis: SalaryBasis
) -> list[PayingCompany]:
    """Every company with pay, by average pay on `basis`, highest first, ties by name: what
    `top_paying` selects from, so it can be ranked once and read many times."""
    out: list[PayingCompany] = []
    for key, raw in (company_pay or {}).items():
        if not isinstance(raw, Mapping):
            continue
        n = _int(raw.get("n"))
        if n >= 1:
            average = _int(raw.get(f"sum_{basis.value}")) / n
            out.append(PayingCompany(decode_key(key), n, average))
    out.sort(key=lambda c: (-c.average, c.name))
    return out


def best_paying(
    ranked: Iterable[PayingCompany], limit: int, min_postings: int
) -> list[PayingCompany]:
    """The first `limit` companies of a pay ranking with at least `min_postings` postings."""
    out: list[PayingCompany] = []
    for company in ranked:
        if len(out) >= limit:
            break
        if company.n >= min_postings:
            out.append(company)
    return out


def median_age_days(first_seen: Mapping[str, object] | None, now: datetime | None) -> float | None:
    """Median age of the open postings in whole days: the stream clock's UTC date minus each
    posting's first-seen UTC date (0 for one first seen on the clock's day or after it),
    interpolated like the salary median. None without open postings or without a clock."""
    if now is None:
        return None
    today = date.fromisoformat(first_seen_day(now))
    ages: dict[int, int] = {}
    for day, count in (first_seen or {}).items():
        age = max((today - date.fromisoformat(day)).days, 0)
        ages[age] = ages.get(age, 0) + _int(count)
    (median,) = quantiles(ages, (0.5,))
    return median


def provenance(salary_source: Mapping[str, object] | None) -> dict[SalarySource, int]:
    """Postings with disclosed pay per provenance: the structured salary field, the pay text
    field, or the description."""
    counts = salary_source or {}
    return {source: _int(counts.get(source)) for source in SOURCES}


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, int | float) else 0
