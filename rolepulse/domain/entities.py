"""Metros and companies as entities: their rankings, their figure sets, and a company's name,
from the counters the role documents and rollups already hold (rolepulse/domain/rollups.py).

Pure, so the API can memoize any of it per data version. Definitions (README: metros and
companies):

- A **metro's** figures are its cells summed over every role: the `"<role>|<metro>"` cell of each
  role, every sub-cell, which is exactly `role(slug, filter: {metros: [metro]})` per role. A
  posting without a metro (remote-only, or a location naming no place) is in no metro: it counts
  in its role and the market, never under a metro, so a metro's `remotePct` is the share of the
  postings placed there that are remote ("Remote in Seattle").
- A **company's** open positions are its counters in the role documents; its other figures come
  from its open postings (no rollup is keyed by company), grouped per role with the same
  `figure_paths` the rollups sum, so they equal `role(slug, filter: {companies: [name]})`.
- **Rankings** are by open positions, most first, ties by name; a page starts strictly after a
  (count, name) position, so a cursor stays meaningful while counts move.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rolepulse.domain.aggregates import encode_key, top_counts
from rolepulse.domain.filters import PostingFilter, slugify
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import SalaryBasis
from rolepulse.domain.rollups import Counters, add_counters, figures_of_postings

Ranking = list[tuple[str, int]]  # (decoded name, open positions), most first, ties by name


def summed(figure_sets: Iterable[Mapping[str, Any] | None]) -> Counters:
    """Figure sets (or counter maps) added up: the figures of the union of disjoint sets."""
    total: Counters = {}
    for part in figure_sets:
        if part:
            add_counters(total, part)
    return total


def ranked(counts: Mapping[str, Any] | None) -> Ranking:
    """Every name of a counter map (keys encoded as stored) with a positive count, most first,
    ties by name."""
    return top_counts(counts, len(counts or ()))


@dataclass(frozen=True, slots=True)
class Position:
    """Where an entry stands in a ranking: what a cursor holds."""

    count: int
    name: str


def page_after(ranking: Sequence[tuple[str, int]], after: Position | None, first: int) -> Ranking:
    """Up to `first` + 1 entries ranked strictly after `after` (from the top without one); the
    extra entry only says that another page follows.

    Keyset, not offset: an entry whose count changes between two pages may move across the
    cursor (a ranking cannot hold still while it is read), but the others are neither repeated
    nor skipped.
    """
    start = 0
    if after is not None:
        start = bisect_right(ranking, (-after.count, after.name), key=lambda e: (-e[1], e[0]))
    return list(ranking[start : start + first + 1])


def figures_by_role(
    states: Iterable[PostingState], roles: Container[str], f: PostingFilter, now: datetime | None
) -> dict[str, Counters]:
    """The figure set of each role over the open postings of `states` that `f` selects (the
    postings path, market-wide: one read grouped per role, not one read per role)."""
    groups: dict[str, list[PostingState]] = {}
    for state in states:
        p = state.posting
        if p is None or not state.open or p.role is None or p.role not in roles:
            continue
        if f.matches(p, state.first_seen_at, now):
            groups.setdefault(p.role, []).append(state)
    return {role: figures_of_postings(group) for role, group in groups.items()}


def company_name(typed: str, counts: Mapping[str, Any]) -> str | None:
    """The canonical company `typed` names among the employers of `counts` (encoded name ->
    open postings): exactly, else case-insensitively, else by slug, like a filter's companies;
    when several match, the one with the most open postings, then by name. None: no employer
    with open postings has that name."""
    wanted = typed.strip()
    employers = ranked(counts)
    for same in (
        lambda name: name == wanted,
        lambda name: name.casefold() == wanted.casefold(),
        lambda name: slugify(name) == slugify(wanted),
    ):
        # `employers` is ranked: the first match has the most open postings.
        found = next((name for name, _ in employers if same(name)), None)
        if found is not None:
            return found
    return None


@dataclass(frozen=True, slots=True)
class AveragePay:
    """Mean annual USD pay over `n` open postings with disclosed, plausible pay."""

    basis: SalaryBasis
    n: int
    avg_min: float | None
    avg_max: float | None
    average: float | None  # on `basis`


def average_pay(company_pay: Mapping[str, Any] | None, name: str, basis: SalaryBasis) -> AveragePay:
    """A company's mean pay from a figure set's `company_pay` map (keys encoded as stored)."""
    raw = (company_pay or {}).get(encode_key(name))
    n = _int(raw.get("n")) if isinstance(raw, Mapping) else 0
    if not isinstance(raw, Mapping) or n <= 0:
        return AveragePay(basis, 0, None, None, None)
    return AveragePay(
        basis,
        n,
        _int(raw.get("sum_min")) / n,
        _int(raw.get("sum_max")) / n,
        _int(raw.get(f"sum_{basis.value}")) / n,
    )


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, int | float) else 0
