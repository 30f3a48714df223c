"""What the current-figures types and the weekly trend share: the basis enum, percentages, the
seniority mix. Split from `types` so `services.graphql.trends` can use them without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping

import strawberry

from rolepulse.domain.model import SalaryBasis, Seniority

SalaryBasisEnum = strawberry.enum(
    SalaryBasis,
    name="SalaryBasis",
    description="Which end of each posting's annualized USD range salary figures use.",
)


def pct(part: int, whole: int) -> float | None:
    """part / whole * 100, unrounded; None when the whole is empty (undefined, not zero)."""
    return part / whole * 100 if whole > 0 else None


@strawberry.type(description="Open positions per seniority level.")
class ExperienceMix:
    entry: int
    mid: int
    senior: int
    lead: int
    executive: int
    entry_pct: float | None
    mid_pct: float | None
    senior_pct: float | None = strawberry.field(description="senior + lead + executive.")

    @classmethod
    def from_domain(cls, counts: Mapping[Seniority, int]) -> ExperienceMix:
        total = sum(counts.values())
        senior_plus = counts[Seniority.SENIOR] + counts[Seniority.LEAD]
        senior_plus += counts[Seniority.EXECUTIVE]
        return cls(
            entry=counts[Seniority.ENTRY],
            mid=counts[Seniority.MID],
            senior=counts[Seniority.SENIOR],
            lead=counts[Seniority.LEAD],
            executive=counts[Seniority.EXECUTIVE],
            entry_pct=pct(counts[Seniority.ENTRY], total),
            mid_pct=pct(counts[Seniority.MID], total),
            senior_pct=pct(senior_plus, total),
        )
