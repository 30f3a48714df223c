"""GraphQL object types: thin mappers over aggregate documents and domain values.

Each type is built by a `from_domain` classmethod; the counters ride along as a
`strawberry.Private` (`Figures`: the role document, or a filtered figure set from the rollups or
the matching postings, see services/graphql/slicing.py) so list fields (`topSkills(limit:)`,
`salary(basis:)`) compute only when asked, straight from the counters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

import strawberry

from rolepulse.domain.aggregates import SalaryStats, seniority_mix, work_mode_mix
from rolepulse.domain.compare import BASIS_LABELS, Feasibility
from rolepulse.domain.distribution import Distribution
from rolepulse.domain.figures import (
    LOW_CONFIDENCE_N,
    MAX_BUCKET_WIDTH,
    MAX_BUCKETS,
    MIN_BUCKET_WIDTH,
    TAILS,
    median_age_days,
    provenance,
)
from rolepulse.domain.model import SalaryBasis, WorkMode
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.derived import DerivedFigures
from rolepulse.services.graphql.errors import BadInputError, check_limit
from rolepulse.services.graphql.market_trend import (
    OpenPositionsChange,
    resolve_market_trend,
    resolve_open_positions_change,
)
from rolepulse.services.graphql.mixes import ExperienceMix, pct
from rolepulse.services.graphql.slicing import Figures
from rolepulse.services.graphql.trends import WeeklyPoint, resolve_weekly_trend

Info = strawberry.Info[Context, None]
_F = TypeVar("_F", bound=Callable[..., Any])


def described(text: str) -> Callable[[_F], _F]:
    """`@strawberry.field(description=...)` for resolver methods, typed: strawberry's overload
    for a call with arguments returns an untyped decorator, which mypy --strict refuses."""
    return cast(Callable[[_F], _F], strawberry.field(description=text))


FeasibilityEnum = strawberry.enum(
    Feasibility,
    name="Feasibility",
    description="Switching feasibility by top-8 skill overlap: HIGH >= 62.5% (5+ shared "
    "skills), MEDIUM >= 37.5% (3-4), LOW below.",
)


# Resolver methods take described arguments: `@strawberry.field(description=...)` is untyped
# (`described` below types it for the methods that need a description).
BasisArgument = Annotated[
    SalaryBasis | None,
    strawberry.argument(
        description="Defaults to the comparison's basis inside compareRoles, MIDPOINT elsewhere."
    ),
]
LimitArgument = Annotated[
    int, strawberry.argument(description="How many, by open postings, most first; 1..100.")
]
PayingLimitArgument = Annotated[
    int, strawberry.argument(description="How many, by average pay, highest first; 1..100.")
]
MinPostingsArgument = Annotated[
    int,
    strawberry.argument(
        description="Only companies with at least this many postings with disclosed pay; 1..1000."
    ),
]
BucketWidthArgument = Annotated[
    int,
    strawberry.argument(
        description=f"Width of each bucket in annual USD; {MIN_BUCKET_WIDTH}..{MAX_BUCKET_WIDTH}."
    ),
]
MAX_MIN_POSTINGS = 1000


@strawberry.type(
    description="Open postings whose annual pay on the salary's basis is in [from, to)."
)
class SalaryBucket:
    from_: int = strawberry.field(name="from", description="Lower bound, inclusive (USD).")
    to: int | None = strawberry.field(
        description=f"Upper bound, exclusive (USD); null for the last bucket when the values "
        f"span more than {MAX_BUCKETS} buckets: it then holds every value from `from` up."
    )
    count: int


@strawberry.type(
    description="Where the pay of the `n` postings came from: the board's structured salary "
    "field, the pay text field, or the description. Shares are of `n`; null when n is 0."
)
class SalaryProvenance:
    structured: int
    text: int
    description: int
    structured_pct: float | None
    text_pct: float | None
    description_pct: float | None


@strawberry.type(description="A company's pay over its open postings with disclosed pay.")
class PayingCompany:
    name: str
    n: int = strawberry.field(description="Its open postings with disclosed, plausible pay.")
    average: float = strawberry.field(description="Mean annual USD on the chosen basis.")


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
    low_confidence: bool = strawberry.field(
        description=f"True when n < {LOW_CONFIDENCE_N}: too few postings for stable figures."
    )
    figures: strawberry.Private[Figures | None] = None

    @described("10th percentile on the chosen basis, interpolated like p25.")
    def p10(self) -> float | None:
        return self._distribution().quantiles(TAILS)[0]

    @described("90th percentile on the chosen basis, interpolated like p75.")
    def p90(self) -> float | None:
        return self._distribution().quantiles(TAILS)[1]

    @described(
        "The distribution on the chosen basis: contiguous buckets of bucketWidth "
        "dollars, aligned on multiples of it, from the one holding `low` to the one holding "
        f"`high` (empty ones included), at most {MAX_BUCKETS}; counts sum to n."
    )
    def histogram(self, bucket_width: BucketWidthArgument = 10_000) -> list[SalaryBucket]:
        if not MIN_BUCKET_WIDTH <= bucket_width <= MAX_BUCKET_WIDTH:
            raise BadInputError(
                f"bucketWidth must be between {MIN_BUCKET_WIDTH} and {MAX_BUCKET_WIDTH} "
                f"(inclusive), got {bucket_width}",
                argument="bucketWidth",
            )
        return [
            SalaryBucket(from_=b.low, to=b.high, count=b.count)
            for b in self._distribution().buckets(bucket_width, MAX_BUCKETS)
        ]

    @described("Where the pay figures come from, per posting.")
    async def provenance(self) -> SalaryProvenance:
        counts = provenance(await self.figures.part("salary_source") if self.figures else {})
        total = sum(counts.values())
        return SalaryProvenance(
            structured=counts["structured"],
            text=counts["text"],
            description=counts["description"],
            structured_pct=pct(counts["structured"], total),
            text_pct=pct(counts["text"], total),
            description_pct=pct(counts["description"], total),
        )

    def _distribution(self) -> Distribution:
        # Sorted once per figure set (and data version, when kept): services/graphql/derived.py.
        if self.figures is None:
            return Distribution((), ())
        return self.figures.derived().distribution(self.basis)

    @classmethod
    def from_domain(cls, stats: SalaryStats, figures: Figures | None = None) -> Salary:
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
            low_confidence=stats.n < LOW_CONFIDENCE_N,
            figures=figures,
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


@strawberry.type(
    description="One AI role over the current open set of postings, or over the open postings "
    "a filter selects (`role(slug, filter)`): every figure is then of that subset."
)
class Role:
    slug: str
    title: str = strawberry.field(description="Display name, e.g. 'AI Software Engineer'.")
    focus: str
    career_path: list[str] = strawberry.field(description="Typical progression.")
    open_positions: int
    share_of_market_pct: float | None = strawberry.field(
        description="openPositions / market openPositions * 100; null when the market is empty. "
        "The market is never filtered: under a filter, the share of all open AI jobs that are "
        "this role and match the filter."
    )
    figures: strawberry.Private[Figures]
    default_basis: strawberry.Private[SalaryBasis]
    weekly_trend: list[WeeklyPoint] = strawberry.field(
        resolver=resolve_weekly_trend,
        description="One point per ISO week, oldest first, from the first requested week (or "
        "the role's first snapshot, if later) to the latest week with data of any role; weeks "
        "without a change repeat the previous snapshot (carriedForward). Empty before any data. "
        "Weekly history is kept per whole role: under a filter, an error (BAD_USER_INPUT).",
    )

    @classmethod
    def from_domain(
        cls,
        info: RoleInfo,
        figures: Figures,
        market: MarketAggregateDoc,
        default_basis: SalaryBasis = SalaryBasis.MIDPOINT,
    ) -> Role:
        open_positions = _int(figures.counters.get("open"))
        return cls(
            slug=info.slug,
            title=info.name,
            focus=info.focus,
            career_path=list(info.career_path),
            open_positions=open_positions,
            share_of_market_pct=pct(open_positions, market.get("open_ai", 0)),
            figures=figures,
            default_basis=default_basis,
        )

    @property
    def doc(self) -> Mapping[str, Any]:
        """The counters (role-document shape) this role's figures come from."""
        return self.figures.counters

    @property
    def filtered(self) -> bool:
        return self.figures.filtered

    @strawberry.field
    def remote_pct(self) -> float | None:
        modes = work_mode_mix(self.doc.get("work_mode"))
        return pct(modes[WorkMode.REMOTE], sum(modes.values()))

    @strawberry.field
    def salary(self, basis: BasisArgument = None) -> Salary:
        return Salary.from_domain(self.stats(basis or self.default_basis), self.figures)

    @described(
        f"True when salary.n < {LOW_CONFIDENCE_N}: too few postings with disclosed "
        "pay for stable salary figures."
    )
    def low_confidence(self) -> bool:
        salary = self.doc.get("salary") or {}
        return _int(salary.get("n") if isinstance(salary, Mapping) else 0) < LOW_CONFIDENCE_N

    @described(
        "Companies by mean annual pay (on `basis`) over their open postings with "
        "disclosed, plausible pay, highest first, ties by name; only companies with at least "
        "minPostings such postings."
    )
    async def top_paying_companies(
        self,
        limit: PayingLimitArgument = 10,
        min_postings: MinPostingsArgument = 3,
        basis: BasisArgument = None,
    ) -> list[PayingCompany]:
        check_limit(limit)
        if not 1 <= min_postings <= MAX_MIN_POSTINGS:
            raise BadInputError(
                f"minPostings must be between 1 and {MAX_MIN_POSTINGS} (inclusive), "
                f"got {min_postings}",
                argument="minPostings",
            )
        derived = await self.figures.derived_part("company_pay")
        ranked = derived.top_paying(basis or self.default_basis, limit, min_postings)
        return [PayingCompany(name=c.name, n=c.n, average=c.average) for c in ranked]

    @described(
        "Median age of the open postings in days: the stream clock's UTC date "
        "(the latest event time applied from every partition) minus each posting's first-seen "
        "UTC date (the first-seen of the board posting a job counts through), interpolated "
        "like the salary median; null without open postings."
    )
    async def median_posting_age_days(self, info: Info) -> float | None:
        first_seen = await self.figures.part("first_seen")
        return median_age_days(first_seen, await info.context.slices.clock())

    @strawberry.field
    def experience_mix(self) -> ExperienceMix:
        return ExperienceMix.from_domain(seniority_mix(self.doc.get("seniority")))

    @strawberry.field
    def work_modes(self) -> WorkModes:
        return WorkModes.from_domain(work_mode_mix(self.doc.get("work_mode")))

    @strawberry.field
    def top_skills(self, limit: LimitArgument = 8) -> list[NameCount]:
        return self._ranked(self.figures.derived(), "skills", limit)

    @strawberry.field
    def top_companies(self, limit: LimitArgument = 4) -> list[NameCount]:
        check_limit(limit)
        if "companies" not in self.figures.missing:
            return self._ranked(self.figures.derived(), "companies", limit)
        # Only a skill's figures read their company maps (from postings): then an awaitable,
        # which graphql-core awaits as it would an async resolver's. Synchronous otherwise,
        # because one async field makes graphql-core gather the role's fields in tasks.
        return cast(list[NameCount], self._read_top_companies(limit))

    async def _read_top_companies(self, limit: int) -> list[NameCount]:
        return self._ranked(await self.figures.derived_part("companies"), "companies", limit)

    @strawberry.field
    def top_metros(self, limit: LimitArgument = 3) -> list[NameCount]:
        return self._ranked(self.figures.derived(), "metros", limit)

    def stats(self, basis: SalaryBasis) -> SalaryStats:
        return self.figures.derived().salary_stats(basis)

    def skill_names(self, limit: int) -> tuple[str, ...]:
        return tuple(name for name, _ in self.figures.derived().top("skills", limit))

    def _ranked(self, derived: DerivedFigures, part: str, limit: int) -> list[NameCount]:
        # The part ranked once per figure set (and data version, when kept): a request costs
        # `limit`, not the number of the role's employers, skills or metros.
        check_limit(limit)
        return [
            NameCount(name=name, count=count, share_pct=pct(count, self.open_positions))
            for name, count in derived.top(part, limit)
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
    weekly_trend: list[WeeklyPoint] = strawberry.field(
        resolver=resolve_market_trend,
        description="The roles' weekly trends summed: one point per ISO week, oldest first, "
        "as Role.weeklyTrend lays them out; carriedForward when no role changed that week.",
    )
    open_positions_change: OpenPositionsChange | None = strawberry.field(
        resolver=resolve_open_positions_change,
        description="Week-over-week change of open positions over the two newest complete "
        "weeks; null before a complete week with a previous week of data.",
    )

    @described(
        "The stream clock: the latest event time applied from every partition (the clock "
        "expiry runs on), so every figure counts the events up to it; null before any event."
    )
    async def as_of(self, info: Info) -> datetime | None:
        return await info.context.slices.clock()

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


def _int(raw: object) -> int:
    return int(raw) if isinstance(raw, int | float) else 0
