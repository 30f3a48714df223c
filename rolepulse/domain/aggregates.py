"""Aggregate math over the current open set, as mergeable integer counters.

Every stored posting contributes a fixed set of counter increments to a few aggregate documents
(one per role, one for the market). A change of state is applied as `contribution(new) -
contribution(old)`, so aggregates equal a recomputation from the postings no matter the order in
which changes arrive, and a whole batch coalesces into one `$inc` per touched document.

Salary distributions are kept exactly, as {whole-dollar value: count} histograms per basis: the
public figures (p25/median/p75) must be reproducible to the dollar, which an approximate sketch
could not promise, and distinct values per role stay in the thousands at most.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import SalaryBasis, Seniority, WorkMode

MARKET_DOC = "market"
BASES = (SalaryBasis.MIN, SalaryBasis.MAX, SalaryBasis.MIDPOINT)

# (collection kind, document id) — kind is "role" or "market".
DocRef = tuple[str, str]
Deltas = Counter[tuple[DocRef, str]]


def encode_key(name: str) -> str:
    """Make a display name safe as a MongoDB field name ('.' splits paths, '$' starts operators)."""
    return name.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def decode_key(key: str) -> str:
    return key.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def contribution(state: PostingState | None) -> Deltas:
    """Counter increments that `state` adds to the aggregates (empty when nothing counts)."""
    out: Deltas = Counter()
    if state is None or state.posting is None:
        return out
    p = state.posting
    market: DocRef = ("market", MARKET_DOC)
    out[(market, "seen")] += 1
    if not state.open:
        return out
    out[(market, "open_total")] += 1
    if p.role is None:
        return out
    out[(market, "open_ai")] += 1
    out[(market, f"roles.{p.role}")] += 1
    role: DocRef = ("role", p.role)
    out[(role, "open")] += 1
    out[(role, f"work_mode.{p.work_mode.value}")] += 1
    out[(role, f"seniority.{p.seniority.value}")] += 1
    for skill in p.skills:
        out[(role, f"skills.{encode_key(skill)}")] += 1
    if p.company:
        out[(role, f"companies.{encode_key(p.company)}")] += 1
    if p.metro:
        out[(role, f"metros.{encode_key(p.metro)}")] += 1
    if p.salary is not None and "salary_implausible" not in p.flags:
        out[(role, "salary.n")] += 1
        for basis in BASES:
            value = p.salary.annual(basis)
            out[(role, f"salary.sum_{basis.value}")] += value
            out[(role, f"salary.hist_{basis.value}.{value}")] += 1
    return out


def postings_count_delta(old: PostingState | None, new: PostingState | None) -> Deltas:
    """Board postings with data, before cross-board deduplication (market `postings`)."""
    count = int(new is not None and new.posting is not None)
    count -= int(old is not None and old.posting is not None)
    return Counter({(("market", MARKET_DOC), "postings"): count}) if count else Counter()


def delta(old: PostingState | None, new: PostingState | None) -> Deltas:
    """What moving one posting from `old` to `new` changes; zero entries are dropped."""
    out = contribution(new)
    out.subtract(contribution(old))
    return Counter({k: v for k, v in out.items() if v != 0})


def coalesce(deltas: Iterable[Deltas]) -> dict[DocRef, dict[str, int]]:
    """Sum many deltas into one `$inc` document per aggregate document."""
    total: Deltas = Counter()
    for d in deltas:
        total.update(d)
    by_doc: dict[DocRef, dict[str, int]] = {}
    for (doc, path), value in total.items():
        if value != 0:
            by_doc.setdefault(doc, {})[path] = value
    return by_doc


def add_increments(doc: Mapping[str, Any], increments: Mapping[str, int]) -> dict[str, Any]:
    """`doc` with `increments` ({dotted path: delta}) added, as MongoDB's `$inc` would do.

    Counters that reach zero are removed, so a histogram keeps only values that occur. Paths
    split on "." only: names inside them are escaped by `encode_key`.
    """
    out = _copy_maps(doc)
    for path, value in increments.items():
        *parents, leaf = path.split(".")
        node = out
        for name in parents:
            node = node.setdefault(name, {})
        total = int(node.get(leaf, 0)) + value
        if total:
            node[leaf] = total
        else:
            node.pop(leaf, None)
    return out


def _copy_maps(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy_maps(v) if isinstance(v, Mapping) else v for k, v in doc.items()}


# ---- read side -----------------------------------------------------------------------------


def quantile(hist: Mapping[int, int], q: float) -> float | None:
    """Quantile of a {value: count} multiset by linear interpolation between order statistics.

    Same result as numpy.quantile(values, q) with its default method ("linear"): position
    h = (n - 1) * q, value = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h]).
    """
    return quantiles(hist, (q,))[0]


def quantiles(hist: Mapping[int, int], qs: Sequence[float]) -> list[float | None]:
    """Several quantiles of one histogram, sorting it once (the API asks for three per role)."""
    values: list[int] = []
    ends: list[int] = []  # cumulative counts: order statistic i is values[first end > i]
    total = 0
    for value, count in sorted(hist.items()):
        if count > 0:
            total += count
            values.append(value)
            ends.append(total)
    if total == 0:
        return [None for _ in qs]

    def order_statistic(index: int) -> int:
        return values[bisect_right(ends, index)]

    out: list[float | None] = []
    for q in qs:
        h = (total - 1) * q
        lo = int(h)
        frac = h - lo
        lo_value = order_statistic(lo)
        out.append(
            float(lo_value) if frac == 0 else lo_value + frac * (order_statistic(lo + 1) - lo_value)
        )
    return out


@dataclass(frozen=True, slots=True)
class SalaryStats:
    """Salary figures of one role on one basis; every figure is annual USD over `n` postings."""

    basis: SalaryBasis
    n: int
    avg_min: float | None
    avg_max: float | None
    p25: float | None
    median: float | None
    average: float | None
    p75: float | None
    low: int | None
    high: int | None


def salary_stats(salary_doc: Mapping[str, object], basis: SalaryBasis) -> SalaryStats:
    """Figures from a role document's `salary` sub-document (see schema/documents.py)."""
    n = _int(salary_doc.get("n"))
    hist = _hist(salary_doc.get(f"hist_{basis.value}"))
    if n <= 0:
        return SalaryStats(basis, 0, None, None, None, None, None, None, None, None)
    present = [v for v, c in hist.items() if c > 0]
    p25, median, p75 = quantiles(hist, (0.25, 0.5, 0.75))
    return SalaryStats(
        basis=basis,
        n=n,
        avg_min=_int(salary_doc.get("sum_min")) / n,
        avg_max=_int(salary_doc.get("sum_max")) / n,
        p25=p25,
        median=median,
        average=_int(salary_doc.get(f"sum_{basis.value}")) / n,
        p75=p75,
        low=min(present) if present else None,
        high=max(present) if present else None,
    )


def top_counts(counts: Mapping[str, object] | None, limit: int) -> list[tuple[str, int]]:
    """Largest positive counters first; ties by name so results are stable across reads."""
    pairs = [(decode_key(k), _int(v)) for k, v in (counts or {}).items()]
    pairs = [(k, v) for k, v in pairs if v > 0]
    pairs.sort(key=lambda kv: (-kv[1], kv[0]))
    return pairs[:limit]


def seniority_mix(counts: Mapping[str, object] | None) -> dict[Seniority, int]:
    counts = counts or {}
    return {s: _int(counts.get(s.value)) for s in Seniority}


def work_mode_mix(counts: Mapping[str, object] | None) -> dict[WorkMode, int]:
    counts = counts or {}
    return {m: _int(counts.get(m.value)) for m in WorkMode}


def _hist(raw: object) -> dict[int, int]:
    if not isinstance(raw, Mapping):
        return {}
    return {int(k): _int(v) for k, v in raw.items()}


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, int | float) else 0
