"""GraphQL object types: thin mappers over aggregate documents and domain values.

Each type is built by a `from_domain` classmethod; the raw aggregate document rides along as a
`strawberry.Private` so list fields (`topSkills(limit:)`, `salary(basis:)`) compute only when
asked, straight from the counters, never from postings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import strawberry

from rolepulse.domain.aggregates import (
    SalaryStats,
    salary_stats,
    seniority_mix,
    top_counts,
    work_mode_mix,
)
from rolepulse.domain.compare import BASIS_LABELS, Feasibility
from rolepulse.domain.model import SalaryBasis, WorkMode
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.errors import check_limit
from rolepulse.services.graphql.mixes import ExperienceMix, pct
from rolepulse.services.graphql.trends import WeeklyPoint, resolve_weekly_trend

FeasibilityEnum = strawberry.enum(
    Feasibility,
    name="Feasibility",
    description="Switching feasibility by top-8 skill overlap: HIGH >= 62.5% (5+ shared "
    "skills), MEDIUM >= 37.5% (3-4), LOW below.",
)


# Resolver methods take described arguments: `@strawberry.field(description=...)` is untyped.
BasisArgument = Annotated[
    SalaryBasis | None,
    strawberry.argument(
        description="Defaults to the comparison's basis inside compareRoles, MIDPOINT elsewhere."
    ),
]
LimitArgument = Annotated[
    int, strawberry.argument(description="How many, by open postings, most first; 1..100.")
]


@strawberry.type(description="A name with its open-posting count, e.g. a skill or a company.")
class NameCount:
    name: str
    count: int
    share_pct: float | None = strawberry.field(
        description="count / the role's open positions * 100; null when it has none."
    )


@strawberry.type(description="Salary figures of one role: annual USD over `n` postings.")
class Salary:
    basis: SalaryBasis
    n: int = strawberry.field(description="Open postings with disclosed, plausible pay.")
    avg_min: float | None = strawberry.field(description="Mean of range bottoms.")
    avg_max: float | None = strawberry.field(description="Mean of range tops.")
    p25: float | None
    median: float | None
    average: float | None = strawberry.field(description="Mean on the chosen basis.")
    p75: float | None
    low: int | None = strawberry.field(description="Smallest value on the chosen basis.")
    high: int | None = strawberry.field(description="Largest value on the chosen basis.")
    currency: str = "USD"
    period: str = "year"
    definition: str

    @classmethod
    def from_domain(cls, stats: SalaryStats) -> Salary:
        return cls(
            basis=stats.basis,
            n=stats.n,
            avg_min=stats.avg_min,
            avg_max=stats.avg_max,
            p25=stats.p25,
            median=stats.median,
            average=stats.average,
            p75=stats.p75,
            low=stats.low,
            high=stats.high,
            definition=(
                f"Annual USD over {stats.n} open postings with disclosed pay, each taken at the "
                f"{BASIS_LABELS[stats.basis]} of its annualized range. average is the mean; "
                "p25/median/p75 interpolate linearly between order statistics (numpy's default); "
                "avgMin/avgMax are the means of range bottoms/tops whatever the basis."
            ),
        )


@strawberry.type(description="Open positions per work mode.")
class WorkModes:
    remote: int
    hybrid: int
    onsite: int
    unknown: int
    remote_pct: float | None
    hybrid_pct: float | None
    onsite_pct: float | None
    unknown_pct: float | None

    @classmethod
    def from_domain(cls, counts: Mapping[WorkMode, int]) -> WorkModes:
        total = sum(counts.values())
        return cls(
            remote=counts[WorkMode.REMOTE],
            hybrid=counts[WorkMode.HYBRID],
            onsite=counts[WorkMode.ONSITE],
            unknown=counts[WorkMode.UNKNOWN],
            remote_pct=pct(counts[WorkMode.REMOTE], total),
            hybrid_pct=pct(counts[WorkMode.HYBRID], total),
            onsite_pct=pct(counts[WorkMode.ONSITE], total),
            unknown_pct=pct(counts[WorkMode.UNKNOWN], total),
        )


@strawberry.type(description="One AI role over the current open set of postings.")
class Role:
    slug: str
    title: str = strawberry.field(description="Display name, e.g. 'AI Software Engineer'.")
    focus: str
    career_path: list[str] = strawberry.field(description="Typical progression.")
    open_positions: int
    share_of_market_pct: float | None = strawberry.field(
        description="openPositions / market openPositions * 100; null when the market is empty."
    )
    doc: strawberry.Private[RoleAggregateDoc]
    default_basis: strawberry.Private[SalaryBasis]
    weekly_trend: list[WeeklyPoint] = strawberry.field(
        resolver=resolve_weekly_trend,
        description="One point per ISO week, oldest first, from the first requested week (or "
        "the role's first snapshot, if later) to the latest week with data of any role; weeks "
        "without a change repeat the previous snapshot (carriedForward). Empty before any data.",
    )

    @classmethod
    def from_domain(
        cls,
        info: RoleInfo,
        doc: RoleAggregateDoc,
        market: MarketAggregateDoc,
        default_basis: SalaryBasis = SalaryBasis.MIDPOINT,
    ) -> Role:
        open_positions = doc.get("open", 0)
        return cls(
            slug=info.slug,
            title=info.name,
            focus=info.focus,
            career_path=list(info.career_path),
            open_positions=open_positions,
            share_of_market_pct=pct(open_positions, market.get("open_ai", 0)),
            doc=doc,
            default_basis=default_basis,
        )

    @strawberry.field
    def remote_pct(self) -> float | None:
        modes = work_mode_mix(self.doc.get("work_mode"))
        return pct(modes[WorkMode.REMOTE], sum(modes.values()))

    @strawberry.field
    def salary(self, basis: BasisArgument = None) -> Salary:
        return Salary.from_domain(self.stats(basis or self.default_basis))

    @strawberry.field
    def experience_mix(self) -> ExperienceMix:
        return ExperienceMix.from_domain(seniority_mix(self.doc.get("seniority")))

    @strawberry.field
    def work_modes(self) -> WorkModes:
        return WorkModes.from_domain(work_mode_mix(self.doc.get("work_mode")))

    @strawberry.field
    def top_skills(self, limit: LimitArgument = 8) -> list[NameCount]:
        return self._top(self.doc.get("skills"), limit)

    @strawberry.field
    def top_companies(self, limit: LimitArgument = 4) -> list[NameCount]:
        return self._top(self.doc.get("companies"), limit)

    @strawberry.field
    def top_metros(self, limit: LimitArgument = 3) -> list[NameCount]:
        return self._top(self.doc.get("metros"), limit)

    def stats(self, basis: SalaryBasis) -> SalaryStats:
        return salary_stats(self.doc.get("salary") or {}, basis)

    def skill_names(self, limit: int) -> tuple[str, ...]:
        return tuple(name for name, _ in top_counts(self.doc.get("skills"), limit))

    def _top(self, counts: Mapping[str, int] | None, limit: int) -> list[NameCount]:
        check_limit(limit)
        return [
            NameCount(name=name, count=count, share_pct=pct(count, self.open_positions))
            for name, count in top_counts(counts, limit)
        ]


@strawberry.type(description="Open positions of one role, as counted in the market document.")
class RoleCount:
    slug: str
    open_positions: int
    share_of_market_pct: float | None


@strawberry.type(description="Market-wide totals of the current open set.")
class Market:
    open_positions: int = strawberry.field(
        description="Open jobs with an AI role; a job posted on several boards counts once."
    )
    open_postings_all_roles: int = strawberry.field(description="Open jobs, AI or not.")
    postings_seen: int = strawberry.field(
        description="Distinct jobs ever seen (open or not, AI or not), boards deduplicated."
    )
    board_postings_seen: int = strawberry.field(
        description="Board postings ever seen, before cross-board deduplication."
    )
    cross_board_duplicates: int = strawberry.field(
        description="Board postings that were the same job as another board's: "
        "boardPostingsSeen - postingsSeen."
    )
    roles: list[RoleCount] = strawberry.field(description="Every taxonomy role, in order.")

    @classmethod
    def from_domain(cls, doc: MarketAggregateDoc, slugs: list[str]) -> Market:
        open_ai = doc.get("open_ai", 0)
        per_role = doc.get("roles") or {}
        return cls(
            open_positions=open_ai,
            open_postings_all_roles=doc.get("open_total", 0),
            postings_seen=doc.get("seen", 0),
            board_postings_seen=doc.get("postings", 0),
            cross_board_duplicates=doc.get("postings", 0) - doc.get("seen", 0),
            roles=[
                RoleCount(
                    slug=slug,
                    open_positions=per_role.get(slug, 0),
                    share_of_market_pct=pct(per_role.get(slug, 0), open_ai),
                )
                for slug in slugs
            ],
        )
