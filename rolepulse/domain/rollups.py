"""Rollups: pre-aggregated figure sets that filtered figures are read from, and which filters
they answer exactly.

A *figure set* is a nested counter document in the shape of a role aggregate (open, work_mode,
seniority, skills, companies, metros, salary {n, sums, exact histograms}) plus the parts only
rollups hold (`TOTAL_PARTS`: pay per company, open postings per first-seen day, salary
provenance). Figure sets add up: the figures of a union of disjoint posting sets are the sum of
their figure sets, which is what lets a filter be answered by summing the rollups it covers.

The consumer keeps three kinds (rolepulse/domain/aggregates.py `contribution`, so they move with
every change like the role documents, coalesced per batch, and `verify` recomputes them):

- **cell** `"<role>|<metro>"` (metro "" when a posting has none, e.g. remote-only): the figure set
  of each seniority x work-mode sub-cell, under "<seniority>|<work mode>". Grouped per metro rather
  than one document per sub-cell because a batch of a diverse feed touches most sub-cells of the
  metros it hits: one document per (role, metro) is written instead of up to twenty, and each
  document write costs SecantusDB ~0.5 ms whatever its size (README: Filters).
- **skill** `"<role>|<skill>"`: the figure set of the role's postings mentioning the skill, minus
  the per-company maps (`COMPANY_PARTS`), which would make each skill document as large as its
  role's company list and be rewritten by nearly every batch.
- **total** `"<role>"`: only `TOTAL_PARTS` of the whole role; the rest is the role document.

Which rollup answers a filter (`source_for`):
- no dimension: the role document (+ the total rollup for its parts);
- any of metros / seniorities / work modes, alone or combined: the cells of the requested metros
  (all of the role's when none are named), summing the matching sub-cells: exact;
- exactly one skill and nothing else: its skill rollup, exact for every figure except the
  company ones (top companies, top paying companies), which come from the matching postings;
- anything else (companies, two or more skills, a skill with another dimension, postedWithinDays):
  the matching open postings themselves, read through an index and bounded (`MAX_POSTINGS_READ`);
  a filter that could match more is refused, never approximated.

Rollup counters are stored as one compact JSON string per document (`encode_payload`): no server
ever reads into them (the store replaces whole documents), and SecantusDB's cost grows with the
number of BSON fields a document has, not with the length of a string.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from rolepulse.domain.aggregates import (
    COMPANY_PARTS,
    add_increments,
    encode_key,
    figure_paths,
    first_seen_day,
)
from rolepulse.domain.filters import PostingFilter
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import Seniority, WorkMode

Counters = dict[str, Any]  # a nested counter document (values: int or nested Counters)

# The most open postings a figure may be computed from directly (the postings path). SecantusDB
# reads about 0.1 ms per posting: 5,000 is ~0.5 s, a quarter of the execution timeout.
MAX_POSTINGS_READ = 5_000

_CELL_DIMENSIONS = frozenset({"metros", "seniorities", "work_modes"})


class Source(StrEnum):
    """Where a filter's figures are read from (see the module doc)."""

    ROLE = "role"
    CELLS = "cells"
    SKILL = "skill"
    POSTINGS = "postings"


def source_for(f: PostingFilter) -> Source:
    dimensions = f.dimensions()
    if not dimensions:
        return Source.ROLE
    if dimensions <= _CELL_DIMENSIONS:
        return Source.CELLS
    if dimensions == {"skills"} and f.skills is not None and len(f.skills) == 1:
        return Source.SKILL
    return Source.POSTINGS


def cell_id(role: str, metro: str | None) -> str:
    return f"{role}|{metro or ''}"


def sub_cell(seniority: Seniority, work_mode: WorkMode) -> str:
    return f"{seniority.value}|{work_mode.value}"


def skill_id(role: str, skill: str) -> str:
    return f"{role}|{skill}"


def rollup_fields(kind: str, doc_id: str) -> dict[str, str | None]:
    """The plain fields stored beside a rollup's payload, which reads select documents by."""
    if kind == "total":
        return {"role": doc_id}
    role, _, rest = doc_id.partition("|")
    if kind == "cell":
        return {"role": role, "metro": rest or None}
    return {"role": role, "skill": rest}


def encode_payload(counters: Mapping[str, Any]) -> str:
    return json.dumps(counters, separators=(",", ":"), sort_keys=True)


def decode_payload(raw: object) -> Counters:
    if not isinstance(raw, str) or not raw:
        return {}
    value = json.loads(raw)
    return value if isinstance(value, dict) else {}


def prune(counters: Mapping[str, Any]) -> Counters:
    """`counters` without zero counters and empty maps (a rollup keeps only what counts)."""
    out: Counters = {}
    for key, value in counters.items():
        if isinstance(value, dict):
            inner = prune(value)
            if inner:
                out[key] = inner
        elif value:
            out[key] = value
    return out


def add_in_place(counters: Counters, increments: Mapping[str, int]) -> Counters:
    """`increments` ({dotted path: delta}) added to pruned `counters` in place, which stay
    pruned: a counter reaching zero goes, with the maps it leaves empty. Equal to
    `prune(add_increments(counters, increments))` at the cost of the increments alone, not of
    the whole document (the consumer does this to every rollup a batch touches)."""
    for path, value in increments.items():
        names = path.split(".")
        node = counters
        for name in names[:-1]:
            try:
                node = node[name]
            except KeyError:
                node[name] = node = {}
        leaf = names[-1]
        total = node.get(leaf, 0) + value
        if total:
            node[leaf] = total
        else:
            node.pop(leaf, None)
            if not node and len(names) > 1:
                _drop_empty(counters, names)
    return counters


def _drop_empty(counters: Counters, names: list[str]) -> None:
    """Remove the maps along `names` that its last counter's removal left empty."""
    chain = [counters]
    for name in names[:-2]:
        chain.append(chain[-1][name])
    for parent, name in zip(reversed(chain), reversed(names[:-1]), strict=True):
        if parent[name]:
            return
        del parent[name]


def add_counters(total: Counters, part: Mapping[str, Any]) -> Counters:
    """Add the nested counters `part` into `total` (in place) and return it."""
    get = total.get
    for key, value in part.items():
        # Plain ints first, by exact type: they are nearly every value (a histogram holds
        # thousands); with the `Mapping` ABC check first, summing twelve weekly documents of
        # 2,200 pay values each took 7.5 ms instead of 1.2 ms.
        if type(value) is int:
            total[key] = int(get(key, 0)) + value
        elif isinstance(value, int | float):
            total[key] = int(get(key, 0)) + int(value)
        elif isinstance(value, Mapping):
            inner = get(key)
            if not isinstance(inner, dict):
                inner = total[key] = {}
            add_counters(inner, value)
    return total


def sum_cells(cells: Iterable[Mapping[str, Any]], f: PostingFilter) -> Counters:
    """The figure set of the sub-cells of `cells` (decoded cell payloads of the requested
    metros) that `f`'s seniorities and work modes select."""
    total: Counters = {}
    for payload in cells:
        for key, counters in payload.items():
            seniority, _, work_mode = key.partition("|")
            if f.seniorities is not None and seniority not in f.seniorities:
                continue
            if f.work_modes is not None and work_mode not in f.work_modes:
                continue
            if isinstance(counters, Mapping):
                add_counters(total, counters)
    return total


def figures_of_postings(states: Iterable[PostingState]) -> Counters:
    """The figure set of open postings, from the postings themselves (the postings path); the
    same `figure_paths` the rollups sum, so both paths define every figure alike."""
    increments: dict[str, int] = {}
    for state in states:
        if state.posting is None or not state.open:
            continue
        for path, value in figure_paths(state.posting, state.first_seen_at):
            increments[path] = increments.get(path, 0) + value
    return add_increments({}, increments)


def without_company_parts(counters: Mapping[str, Any]) -> Counters:
    return {k: v for k, v in counters.items() if k not in COMPANY_PARTS}


# ---- the postings path ----------------------------------------------------------------------


# The lower end of a first-seen range that excludes nothing (event times are after 2000).
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def postings_queries(
    role: str, f: PostingFilter, dimension: str, now: datetime | None, skill: str | None
) -> list[dict[str, Any]]:
    """The MongoDB queries that read the open postings the filter may select through the index
    of `dimension` (`scan_plan`): the role's, each named company's, or the `skill`'s.

    Each query holds the index's fields and nothing else, with a first-seen range even when the
    filter sets none: SecantusDB plans a query with a field outside the index, or without the
    range, onto another index or a collection scan, and its `hint` costs ~1.5 ms per key. So
    everything else (the role, the other dimensions, `counted`) is checked on what is read.
    """
    since = _EPOCH
    if f.posted_within_days is not None:
        if now is None:
            return []  # no stream clock yet: nothing is recent
        since = now - timedelta(days=f.posted_within_days)
    first_seen = {"$gte": since}
    if dimension == "company":
        return [
            {"open": True, "company": c, "first_seen_at": first_seen}
            for c in sorted(f.companies or ())
        ]
    if dimension == "skills" and skill is not None:
        return [{"open": True, "skills": skill, "first_seen_at": first_seen}]
    return [{"open": True, "role": role, "first_seen_at": first_seen}]


def driving_skill(f: PostingFilter, skill_counts: Mapping[str, int]) -> str | None:
    """The filter's skill with the fewest open postings in `skill_counts` (keyed by encoded
    name): matched through an index, the others in memory. None without skills."""
    if not f.skills:
        return None
    return min(sorted(f.skills), key=lambda s: _count(skill_counts, encode_key(s)))


def scan_plan(
    f: PostingFilter,
    role_open: int,
    first_seen: Mapping[str, Any],
    market_companies: Mapping[str, int],
    market_skills: Mapping[str, int],
    now: datetime | None,
) -> tuple[int, str]:
    """(how many open postings the read may scan at most, through which index), the narrowest
    of: the role's open postings (first seen since the cut-off, with postedWithinDays), the
    named companies' open postings in every role, the rarest named skill's in every role.

    The drill-down's indexes (schema/postings_indexes.py) serve these ranges, so the postings
    path adds no index of its own for the consumer to maintain; the counters kept anyway (the
    role document, the total rollup's first-seen days, every role's company and skill maps)
    bound each range before anything is read. Counts are of jobs (cluster representatives); a
    range also holds the few other boards' copies of a job, which the read skips (`counted`).
    """
    role_bound = role_open
    if f.posted_within_days is not None:
        if now is None:
            return 0, "role"
        since = first_seen_day(now - timedelta(days=f.posted_within_days))
        role_bound = sum(_count(first_seen, day) for day in first_seen if day >= since)
    bounds = [(role_bound, "role")]
    if f.companies is not None:
        bounds.append(
            (sum(_count(market_companies, encode_key(c)) for c in f.companies), "company")
        )
    if f.skills:
        bounds.append((min(_count(market_skills, encode_key(s)) for s in f.skills), "skills"))
    return min(bounds)


def _count(counts: Mapping[str, Any], key: str) -> int:
    value = counts.get(key)
    return int(value) if isinstance(value, int | float) else 0
