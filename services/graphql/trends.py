"""GraphQL types of a role's weekly trend (gap filling lives in rolepulse.domain.trends)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Protocol

import strawberry

from rolepulse.domain.model import SalaryBasis, WorkMode
from rolepulse.domain.trends import TrendPoint, WeekSalary, weekly_trend
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.errors import BadInputError, check_weeks
from rolepulse.services.graphql.mixes import ExperienceMix, pct

WeeksArgument = Annotated[
    int,
    strawberry.argument(
        description="How many ISO weeks, ending at the latest week with data of any role; 1..104."
    ),
]
TrendBasisArgument = Annotated[
    SalaryBasis | None,
    strawberry.argument(
        description="Salary basis of every point; defaults as for `salary` (the comparison's "
        "basis inside compareRoles, MIDPOINT elsewhere)."
    ),
]


@strawberry.type(description="Salary figures of one week: annual USD over `n` postings.")
class WeeklySalary:
    basis: SalaryBasis
    n: int = strawberry.field(description="Open postings with disclosed, plausible pay that week.")
    p25: float | None
    median: float | None
    p75: float | None
    average: float | None = strawberry.field(description="Mean on the chosen basis.")

    @classmethod
    def from_domain(cls, salary: WeekSalary) -> WeeklySalary:
        return cls(
            basis=salary.basis,
            n=salary.n,
            p25=salary.p25,
            median=salary.median,
            p75=salary.p75,
            average=salary.average,
        )


@strawberry.type(
    description="A role's (or the market's: every role's summed) figures at the end of one "
    "ISO week (Monday-Sunday, UTC, by event time): the last state of the open set that week, "
    "as snapshotted by the consumer."
)
class WeeklyPoint:
    week: str = strawberry.field(description='ISO week, e.g. "2026-W44".')
    week_start: date = strawberry.field(description="Monday of the week.")
    carried_forward: bool = strawberry.field(
        description="True when the role (for the market: no role) did not change that week: "
        "the figures repeat the previous week's snapshot."
    )
    open_positions: int
    salary: WeeklySalary
    remote_pct: float | None = strawberry.field(
        description="Remote open postings / open postings * 100; null when none are open."
    )
    experience_mix: ExperienceMix
    open_positions_change: int | None = strawberry.field(
        description="openPositions minus the previous point's; null for the first point."
    )
    median_change_pct: float | None = strawberry.field(
        description="(salary.median / previous point's salary.median - 1) * 100; null for the "
        "first point or when either median is null."
    )

    @classmethod
    def from_domain(cls, point: TrendPoint) -> WeeklyPoint:
        return cls(
            week=point.week,
            week_start=point.week_start,
            carried_forward=point.carried_forward,
            open_positions=point.open_positions,
            salary=WeeklySalary.from_domain(point.salary),
            remote_pct=pct(point.work_mode[WorkMode.REMOTE], sum(point.work_mode.values())),
            experience_mix=ExperienceMix.from_domain(point.seniority),
            open_positions_change=point.open_positions_change,
            median_change_pct=point.median_change_pct,
        )


class TrendOwner(Protocol):
    """What the trend needs of its parent `Role` (typed structurally: `types` imports us)."""

    slug: str
    default_basis: SalaryBasis

    @property
    def filtered(self) -> bool: ...


async def resolve_weekly_trend(
    root: strawberry.Parent[TrendOwner],
    info: strawberry.Info[Context, None],
    weeks: WeeksArgument = 12,
    salary_basis: TrendBasisArgument = None,
) -> list[WeeklyPoint]:
    """`Role.weeklyTrend`: validated, then read from weekly snapshots via the DataLoader."""
    check_weeks(weeks)
    if root.filtered:
        # Weekly history is kept per whole role (role_weekly); a filtered trend would need
        # weekly rollups of every cell, so it is refused rather than answered unfiltered.
        raise BadInputError(
            "weeklyTrend is not available under a filter: weekly history is kept per whole "
            "role. Ask for it on role(slug) without a filter.",
            argument="filter",
        )
    return await load_trend(info.context, root.slug, weeks, salary_basis or root.default_basis)


async def load_trend(ctx: Context, slug: str, weeks: int, basis: SalaryBasis) -> list[WeeklyPoint]:
    """The role's trend over `weeks` ISO weeks on `basis`."""
    # One snapshot more than the window: the newest one before it carries into its first weeks.
    history = await ctx.role_history(slug, weeks + 1)
    if history.latest_week is None:
        return []
    points = weekly_trend(history.snapshots, history.latest_week, weeks, basis)
    return [WeeklyPoint.from_domain(p) for p in points]
