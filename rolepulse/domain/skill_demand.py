"""Skill demand and a skill's pay premium, from counters the consumer already keeps. Pure.

Demand comes from the role documents' `skills` maps: open postings mentioning each skill, per
role. A job counts in one role only, so the sum over roles counts each open job once (the ranking
itself is rolepulse/domain/entities.py's, shared with metros and companies).

Pay WITH a skill in a role is its skill rollup (`"<role>|<skill>"`, rolepulse/domain/rollups.py):
the figure set of the role's open postings mentioning it. Pay WITHOUT it is the role's figure set
minus that rollup: the role's postings are the disjoint union of those that mention the skill and
those that do not, and figure sets add (exact histograms included), so they subtract exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rolepulse.domain.aggregates import encode_key
from rolepulse.domain.rollups import Counters
from rolepulse.domain.trends import change_pct


@dataclass(frozen=True, slots=True)
class RoleDemand:
    """Open postings of one role that mention a skill, and all of the role's open postings."""

    role: str
    count: int
    role_open: int


def demand_by_role(
    role_docs: Mapping[str, Mapping[str, Any]], skill: str, order: Sequence[str]
) -> list[RoleDemand]:
    """The roles whose open postings mention `skill`, most such postings first, ties in
    `order` (the taxonomy's)."""
    key = encode_key(skill)
    out: list[RoleDemand] = []
    for role in order:
        doc = role_docs.get(role) or {}
        count = _int((doc.get("skills") or {}).get(key))
        if count > 0:
            out.append(RoleDemand(role, count, _int(doc.get("open"))))
    position = {role: i for i, role in enumerate(order)}
    out.sort(key=lambda d: (-d.count, position[d.role]))
    return out


def subtract(total: Mapping[str, Any], part: Mapping[str, Any]) -> Counters:
    """The nested counters `total` minus `part`, without zero or negative counters and empty
    maps (a figure set keeps only what counts).

    Exact when `part` is a subset's figure set, as a skill rollup is of its role. A negative
    counter can only come from reading the two at different data versions (a consumer commit
    between the reads); it is dropped rather than shown, since no count is below zero.
    """
    out: Counters = {}
    for key, value in total.items():
        minus = part.get(key)
        if isinstance(value, Mapping):
            inner = subtract(value, minus if isinstance(minus, Mapping) else {})
            if inner:
                out[key] = inner
        elif isinstance(value, int | float):
            left = int(value) - (int(minus) if isinstance(minus, int | float) else 0)
            if left > 0:
                out[key] = left
    return out


def premium_pct(with_skill: float | None, without_skill: float | None) -> float | None:
    """(with / without - 1) * 100, unrounded, like the comparison's premium; None when either
    side has no pay (or `without` is zero)."""
    return change_pct(without_skill, with_skill)


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, int | float) else 0
