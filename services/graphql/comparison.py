"""GraphQL types of a role-versus-role comparison (math lives in rolepulse.domain.compare)."""

from __future__ import annotations

import strawberry

from rolepulse.domain.compare import Comparison, Feasibility
from rolepulse.domain.model import SalaryBasis
from rolepulse.services.graphql.types import Role


@strawberry.type(description="How far the two roles' top-8 skills carry over.")
class Switching:
    shared_skill_count: int
    overlap_pct: float = strawberry.field(description="sharedSkillCount / 8 * 100.")
    feasibility: Feasibility
    summary: str


@strawberry.type(description="Role `a` measured against role `b` on one salary basis.")
class RoleComparison:
    basis: SalaryBasis
    premium_pct: float | None = strawberry.field(
        description="(a.salary.average / b.salary.average - 1) * 100; null without pay data."
    )
    higher_paid: Role | None = strawberry.field(
        description="The role with the higher average; null when equal or undefined."
    )
    shared_skills: list[str] = strawberry.field(
        description="Skills in both top-8 lists, in a's rank order."
    )
    unique_to_a: list[str]
    unique_to_b: list[str]
    overlap_pct: float = strawberry.field(description="Shared top-8 skills / 8 * 100.")
    jaccard_pct: float | None = strawberry.field(
        description="Shared / union of the two top-8 lists * 100; null when both are empty."
    )
    salary_ceiling_gap: float | None = strawberry.field(
        description="a.salary.avgMax - b.salary.avgMax, annual USD."
    )
    switching: Switching
    verdict: str
    sample_warning: str | None = strawberry.field(
        description="Set when either role has fewer than 30 postings with disclosed pay."
    )
    a: Role
    b: Role

    @classmethod
    def from_domain(cls, result: Comparison, a: Role, b: Role) -> RoleComparison:
        higher = {"a": a, "b": b, None: None}[result.higher_paid]
        return cls(
            basis=result.basis,
            premium_pct=result.premium_pct,
            higher_paid=higher,
            shared_skills=list(result.shared_skills),
            unique_to_a=list(result.unique_to_a),
            unique_to_b=list(result.unique_to_b),
            overlap_pct=result.overlap_pct,
            jaccard_pct=result.jaccard_pct,
            salary_ceiling_gap=result.salary_ceiling_gap,
            switching=Switching(
                shared_skill_count=result.switching.shared_skill_count,
                overlap_pct=result.switching.overlap_pct,
                feasibility=result.switching.feasibility,
                summary=result.switching.summary,
            ),
            verdict=result.verdict,
            sample_warning=result.sample_warning,
            a=a,
            b=b,
        )
