"""`Market.weeklyTrend` and `Market.openPositionsChange`: the roles' weekly history summed
(rolepulse/domain/market_trend.py), laid out like a role's trend (rolepulse/domain/trends.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import strawberry

from rolepulse.domain.market_trend import (
    market_snapshots,
    newest_complete_week,
    open_positions_change,
)
from rolepulse.domain.model import SalaryBasis
from rolepulse.domain.trends import week_label, weekly_trend
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.errors import check_weeks
from rolepulse.services.graphql.trends import TrendBasisArgument, WeeklyPoint, WeeksArgument
from rolepulse.services.read_model import WeeklyHistory

Info = strawberry.Info[Context, None]


@runtime_checkable
class WeekCounters(Protocol):
    """The read the market's history needs: every role's stored weekly counters."""

    async def week_counters(
        self, per_role: int, fields: Sequence[str], until: str | None = None
    ) -> WeeklyHistory:
        """Every role's newest `per_role` weekly documents (at or before `until`), only
        `fields` beside `role` and `week` (services/read_model.py)."""
        ...


@strawberry.type(
    description="Market open positions at the end of the newest complete ISO week against the "
    "week before (a week is complete once the stream clock has passed its end)."
)
class OpenPositionsChange:
    week: str = strawberry.field(description='The newest complete ISO week, e.g. "2026-W44".')
    previous_week: str
    open_positions: int = strawberry.field(description="At the end of `week`.")
    previous_open_positions: int = strawberry.field(description="At the end of `previousWeek`.")
    change: int = strawberry.field(description="openPositions - previousOpenPositions.")
    change_pct: float | None = strawberry.field(
        description="(openPositions / previousOpenPositions - 1) * 100; null when the previous "
        "week had no open position."
    )


async def resolve_market_trend(
    info: Info, weeks: WeeksArgument = 12, salary_basis: TrendBasisArgument = None
) -> list[WeeklyPoint]:
    """Every role's snapshots summed per week, then shaped like `Role.weeklyTrend`."""
    check_weeks(weeks)
    basis = salary_basis or SalaryBasis.MIDPOINT
    # One document more per role than the window: its newest before the window carries in.
    fields = ("open", "work_mode", "seniority", "salary.n", f"salary.sum_{basis.value}")
    history = await _model(info).week_counters(weeks + 1, (*fields, f"salary.hist_{basis.value}"))
    if history.latest_week is None:
        return []
    snapshots = market_snapshots(history.by_role, history.latest_week, weeks, basis)
    points = weekly_trend(snapshots, history.latest_week, weeks, basis)
    return [WeeklyPoint.from_domain(p) for p in points]


async def resolve_open_positions_change(info: Info) -> OpenPositionsChange | None:
    """Read only `open` of each role's two newest documents up to the newest complete week."""
    clock = await info.context.slices.clock()
    if clock is None:
        return None  # no event applied yet: no week is complete
    until = week_label(newest_complete_week(clock))
    history = await _model(info).week_counters(2, ("open",), until=until)
    change = open_positions_change(history.by_role, clock)
    if change is None:
        return None
    return OpenPositionsChange(
        week=change.week,
        previous_week=change.previous_week,
        open_positions=change.open_positions,
        previous_open_positions=change.previous_open_positions,
        change=change.change,
        change_pct=change.change_pct,
    )


def _model(info: Info) -> WeekCounters:
    model = info.context.read_model
    if not isinstance(model, WeekCounters):
        raise RuntimeError("the read model cannot read weekly counters")
    return model
