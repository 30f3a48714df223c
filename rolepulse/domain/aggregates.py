"""Aggregate math over the current open set, as mergeable integer counters.

Every stored posting contributes a fixed set of counter increments to a few aggregate documents
(one per role, one for the market). A change of state is applied as `contribution(new) -
contribution(old)`, so aggregates equal a recomputation from the postings no matter the order in
which changes arrive, and a whole batch coalesces into one `$inc` per touched document.

Salary distributions are kept exactly, as {whole-dollar value: count} histograms per basis: the
public figures (p25/median/p75) must be reproducible to the dollar, which an approximate sketch
could not promise, and distinct values per role stay in the thousands at most.

The same contribution also feeds the rollups that filtered figures are read from (see
rolepulse/domain/rollups.py): one "cell" document per role and metro (sub-cells per seniority and
work mode), one "skill" document per role and skill, and one "total" document per role with what
the role document lacks (pay per company, first-seen days, salary provenance). Being part of the
one contribution, they move with every change exactly as the role documents do, coalesced per
batch, and a recomputation from postings (`verify`) covers them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rolepulse.domain.distribution import Distribution
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import NormalizedPosting, SalaryBasis, Seniority, WorkMode

MARKET_DOC = "market"
BASES = (SalaryBasis.MIN, SalaryBasis.MAX, SalaryBasis.MIDPOINT)

# Rollup kinds (rolepulse/domain/rollups.py): documents the filtered figures are read from.
CELL = "cell"  # id "<role>|<metro or ''>"; counters under "<seniority>|<work mode>." sub-cells
SKILL = "skill"  # id "<role>|<skill>"; the figure set minus the per-company maps
TOTAL = "total"  # id "<role>"; what the role document lacks: TOTAL_PARTS
# Parts of a figure set that only rollups hold (the role document predates them).
TOTAL_PARTS = ("company_pay", "first_seen", "salary_source")
# Parts a skill rollup leaves out: per-company maps would make each skill document as large as
# its role's company list, rewritten by nearly every batch (README: filters).
COMPANY_PARTS = ("companies", "company_pay")

# (collection kind, document id) — kind is "role", "market" or a rollup kind above.
DocRef = tuple[str, str]
Deltas = Counter[tuple[DocRef, str]]


def encode_key(name: str) -> str:
    """Make a display name safe as a MongoDB field name ('.' splits paths, '$' starts operators)."""
    return name.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def decode_key(key: str) -> str:
    return key.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def contribution(state: PostingState | None) -> Deltas:
    """Counter increments that `state` adds to the aggregates (empty when nothing counts)."""
    if state is None or state.posting is None:
        return Counter()
    p = state.posting
    market: DocRef = ("market", MARKET_DOC)
    if not state.open:
        return Counter({(market, "seen"): 1})
    if p.role is None:
        return Counter({(market, "seen"): 1, (market, "open_total"): 1})
    # Every key below occurs once, so a plain dict is built and handed to Counter whole (its
    # fast path for an empty counter): a posting adds about eighty counters with the rollups.
    out: dict[tuple[DocRef, str], int] = {
        (market, "seen"): 1,
        (market, "open_total"): 1,
        (market, "open_ai"): 1,
        (market, f"roles.{p.role}"): 1,
    }
    role: DocRef = ("role", p.role)
    out[(role, "open")] = 1
    out[(role, f"work_mode.{p.work_mode.value}")] = 1
    out[(role, f"seniority.{p.seniority.value}")] = 1
    for skill in p.skills:
        out[(role, f"skills.{encode_key(skill)}")] = 1
    if p.company:
        out[(role, f"companies.{encode_key(p.company)}")] = 1
    if p.metro:
        out[(role, f"metros.{encode_key(p.metro)}")] = 1
    if p.salary is not None and "salary_implausible" not in p.flags:
        out[(role, "salary.n")] = 1
        for basis in BASES:
            value = p.salary.annual(basis)
            out[(role, f"salary.sum_{basis.value}")] = value
            out[(role, f"salary.hist_{basis.value}.{value}")] = 1
    _add_rollups(out, p.role, p, state.first_seen_at)
    return Counter(out)


def first_seen_day(at: datetime) -> str:
    """The UTC calendar day of a first-seen time, "YYYY-MM-DD": what posting ages are kept by."""
    return at.astimezone(UTC).date().isoformat()


def figure_paths(p: NormalizedPosting, first_seen_at: datetime) -> list[tuple[str, int]]:
    """Counter paths one open posting adds to a figure set (the shape of a role document plus
    TOTAL_PARTS); the rollups and the figures computed from postings both sum these."""
    paths: list[tuple[str, int]] = [
        ("open", 1),
        (f"work_mode.{p.work_mode.value}", 1),
        (f"seniority.{p.seniority.value}", 1),
        (f"first_seen.{first_seen_day(first_seen_at)}", 1),
    ]
    paths += [(f"skills.{encode_key(skill)}", 1) for skill in p.skills]
    company = encode_key(p.company) if p.company else None
    if company is not None:
        paths.append((f"companies.{company}", 1))
    if p.metro:
        paths.append((f"metros.{encode_key(p.metro)}", 1))
    if p.salary is not None and "salary_implausible" not in p.flags:
        low, high = p.salary.annual_min_usd, p.salary.annual_max_usd
        mid = p.salary.annual(SalaryBasis.MIDPOINT)
        paths += [
            ("salary.n", 1),
            ("salary.sum_min", low),
            ("salary.sum_max", high),
            ("salary.sum_mid", mid),
            (f"salary.hist_min.{low}", 1),
            (f"salary.hist_max.{high}", 1),
            (f"salary.hist_mid.{mid}", 1),
            (f"salary_source.{p.salary.source}", 1),
        ]
        if company is not None:
            paths += [
                (f"company_pay.{company}.n", 1),
                (f"company_pay.{company}.sum_min", low),
                (f"company_pay.{company}.sum_max", high),
                (f"company_pay.{company}.sum_mid", mid),
            ]
    return paths


def _add_rollups(
    out: dict[tuple[DocRef, str], int], role: str, p: NormalizedPosting, first_seen_at: datetime
) -> None:
    paths = figure_paths(p, first_seen_at)
    cell: DocRef = (CELL, f"{role}|{p.metro or ''}")
    prefix = f"{p.seniority.value}|{p.work_mode.value}."
    out.update({(cell, prefix + path): value for path, value in paths})
    parts = [(path.partition(".")[0], path, value) for path, value in paths]
    total: DocRef = (TOTAL, role)
    out.update({(total, path): value for part, path, value in parts if part in TOTAL_PARTS})
    shared = [(path, value) for part, path, value in parts if part not in COMPANY_PARTS]
    for skill in p.skills:
        ref: DocRef = (SKILL, f"{role}|{skill}")
        out.update({(ref, path): value for path, value in shared})


def postings_count_delta(old: PostingState | None, new: PostingState | None) -> Deltas:
    """Board postings with data, before cross-board deduplication (market `postings`)."""
    count = int(new is not None and new.posting is not None)
    count -= int(old is not None and old.posting is not None)
    return Counter({(("market", MARKET_DOC), "postings"): count}) if count else Counter()


def delta(old: PostingState | None, new: PostingState | None) -> Deltas:
    """What moving one posting from `old` to `new` changes; zero entries are dropped."""
    if old is not None and new is not None and _same_contribution(old, new):
        return Counter()  # a re-observation: nothing to compute (most of a daily feed)
    if old is None:  # a posting that appears: its contribution (never a zero counter)
        return contribution(new)
    if new is None:  # (Counter's unary minus would drop the negated counts)
        return Counter({k: -v for k, v in contribution(old).items()})
    out = contribution(new)
    out.subtract(contribution(old))
    return Counter({k: v for k, v in out.items() if v != 0})


def _same_contribution(a: PostingState, b: PostingState) -> bool:
    # `contribution` reads exactly these three: equal, it is equal.
    return a.open == b.open and a.first_seen_at == b.first_seen_at and a.posting == b.posting


def coalesce(deltas: Iterable[Deltas]) -> dict[DocRef, dict[str, int]]:
    """Sum many deltas into one `$inc` document per aggregate document."""
    by_doc: dict[DocRef, dict[str, int]] = {}
    last: DocRef | None = None
    inner: dict[str, int] = {}
    for d in deltas:
        for (doc, path), value in d.items():
            # A contribution lists each document's counters together: look the document up
            # once per run of them, not per counter (a posting adds ~80 with the rollups).
            if doc is not last:
                found = by_doc.get(doc)
                inner = by_doc[doc] = {} if found is None else found
                last = doc
            inner[path] = inner.get(path, 0) + value
    out: dict[DocRef, dict[str, int]] = {}
    for doc, counters in by_doc.items():
        nonzero = {path: value for path, value in counters.items() if value != 0}
        if nonzero:
            out[doc] = nonzero
    return out


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
    # `dict`, not the `Mapping` ABC: stored documents decode to dicts, and an ABC check costs
    # about ten times as much on each of a document's thousands of counters.
    return {k: _copy_maps(v) if isinstance(v, dict) else v for k, v in doc.items()}


# ---- read side -----------------------------------------------------------------------------


def quantile(hist: Mapping[int, int], q: float) -> float | None:
    """Quantile of a {value: count} multiset by linear interpolation between order statistics.

    Same result as numpy.quantile(values, q) with its default method ("linear"): position
    h = (n - 1) * q, value = x[floor h] + (h - floor h) * (x[floor h + 1] - x[floor h]).
    """
    return quantiles(hist, (q,))[0]


def quantiles(hist: Mapping[int, int], qs: Sequence[float]) -> list[float | None]:
    """Several quantiles of one histogram, sorting it once (the API asks for three per role)."""
    return Distribution.of(hist).quantiles(qs)


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
    return salary_stats_of(
        salary_doc, basis, Distribution.of_counters(salary_doc.get(f"hist_{basis.value}"))
    )


def salary_stats_of(
    salary_doc: Mapping[str, object], basis: SalaryBasis, hist: Distribution
) -> SalaryStats:
    """`salary_stats` with the basis' histogram already prepared (it may serve many reads)."""
    n = _int(salary_doc.get("n"))
    if n <= 0:
        return SalaryStats(basis, 0, None, None, None, None, None, None, None, None)
    p25, median, p75 = hist.quantiles((0.25, 0.5, 0.75))
    return SalaryStats(
        basis=basis,
        n=n,
        avg_min=_int(salary_doc.get("sum_min")) / n,
        avg_max=_int(salary_doc.get("sum_max")) / n,
        p25=p25,
        median=median,
        average=_int(salary_doc.get(f"sum_{basis.value}")) / n,
        p75=p75,
        low=hist.low,
        high=hist.high,
    )


def top_counts(counts: Mapping[str, object] | None, limit: int) -> list[tuple[str, int]]:
    """Largest positive counters first; ties by name so results are stable across reads."""
    return ranking(counts)[:limit]


def ranking(counts: Mapping[str, object] | None) -> list[tuple[str, int]]:
    """Every positive counter (name decoded), most first, ties by name: what every top-N list
    is a prefix of, so it can be ranked once and sliced by many reads."""
    pairs = [(decode_key(k), _int(v)) for k, v in (counts or {}).items()]
    pairs = [(k, v) for k, v in pairs if v > 0]
    pairs.sort(key=lambda kv: (-kv[1], kv[0]))
    return pairs


def seniority_mix(counts: Mapping[str, object] | None) -> dict[Seniority, int]:
    counts = counts or {}
    return {s: _int(counts.get(s.value)) for s in Seniority}


def work_mode_mix(counts: Mapping[str, object] | None) -> dict[WorkMode, int]:
    counts = counts or {}
    return {m: _int(counts.get(m.value)) for m in WorkMode}


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, int | float) else 0
