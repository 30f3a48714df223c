"""What a metro and a company answer alike: figures over a set of open postings, from one figure
set summed over the roles (rolepulse/domain/entities.py), and their roles as `Role`s filtered to
the entity, so every `Role` field works there exactly as under `role(slug, filter)`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import strawberry

from rolepulse.domain.aggregates import salary_stats, top_counts, work_mode_mix
from rolepulse.domain.entities import summed
from rolepulse.domain.model import SalaryBasis, WorkMode
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.errors import BadInputError, check_limit, echo
from rolepulse.services.graphql.filters import MAX_NAME_LENGTH
from rolepulse.services.graphql.mixes import pct
from rolepulse.services.graphql.slicing import Figures
from rolepulse.services.graphql.types import (
    MAX_MIN_POSTINGS,
    LimitArgument,
    NameCount,
    Role,
    Salary,
    described,
)

EntityBasisArgument = Annotated[
    SalaryBasis | None, strawberry.argument(description="Defaults to MIDPOINT.")
]


def check_name(name: str) -> str:
    """`name` stripped; refused when longer than any name (an error never grows with input)."""
    if len(name) > MAX_NAME_LENGTH:
        raise BadInputError(
            f"name: {echo(name)!r} is longer than {MAX_NAME_LENGTH} characters; no name is",
            argument="name",
        )
    return name.strip()


async def role_docs(ctx: Context) -> dict[str, RoleAggregateDoc]:
    """Every taxonomy role's document, through the request's loader (one `$in` read, shared
    with every other field of the request that reads them)."""
    slugs = list(ctx.taxonomy)
    return dict(zip(slugs, await ctx.role_docs.load_many(slugs), strict=True))


def check_min_postings(min_postings: int) -> None:
    if not 1 <= min_postings <= MAX_MIN_POSTINGS:
        raise BadInputError(
            f"minPostings must be between 1 and {MAX_MIN_POSTINGS} (inclusive), got {min_postings}",
            argument="minPostings",
        )


def roles_of(
    by_role: Mapping[str, Figures],
    taxonomy: Mapping[str, RoleInfo],
    market: MarketAggregateDoc,
) -> list[Role]:
    """The roles with open postings among `by_role`, most open positions first, ties by slug."""
    ranked = sorted(
        ((slug, open_of(f.counters)) for slug, f in by_role.items() if slug in taxonomy),
        key=lambda e: (-e[1], e[0]),
    )
    return [Role.from_domain(taxonomy[s], by_role[s], market) for s, n in ranked if n > 0]


def total_of(by_role: Mapping[str, Figures]) -> Figures:
    """One figure set over every role's (they are disjoint: a posting has one role)."""
    return Figures(summed(f.counters for f in by_role.values()), filtered=True)


@strawberry.type
class EntityFigures:
    """Fields shared by `Metro` and `Company` (not a schema type of its own)."""

    name: str = strawberry.field(description="Canonical name.")
    slug: str = strawberry.field(description="The URL form of the name, e.g. 'new-york'.")
    open_positions: int = strawberry.field(
        description="Open AI jobs (a job posted on several boards counts once)."
    )
    market_open: strawberry.Private[int]

    async def figures(self) -> Figures:
        raise NotImplementedError  # each entity reads its own

    @described("openPositions / market openPositions * 100; null when the market is empty.")
    def share_of_market_pct(self) -> float | None:
        return pct(self.open_positions, self.market_open)

    @described("Remote open postings / open postings * 100; null without any.")
    async def remote_pct(self) -> float | None:
        modes = work_mode_mix((await self.figures()).counters.get("work_mode"))
        return pct(modes[WorkMode.REMOTE], sum(modes.values()))

    @described("Every AI role combined: annual USD over `n` postings.")
    async def salary(self, basis: EntityBasisArgument = None) -> Salary:
        figures = await self.figures()
        stats = salary_stats(figures.counters.get("salary") or {}, basis or SalaryBasis.MIDPOINT)
        return Salary.from_domain(stats, figures)

    @described("Skills by open postings mentioning them, most first, ties by name.")
    async def top_skills(self, limit: LimitArgument = 8) -> list[NameCount]:
        return await self._top("skills", limit)

    async def _top(self, part: str, limit: int) -> list[NameCount]:
        check_limit(limit)
        counts: Any = (await self.figures()).counters.get(part)
        return [
            NameCount(name=name, count=count, share_pct=pct(count, self.open_positions))
            for name, count in top_counts(counts if isinstance(counts, Mapping) else {}, limit)
        ]


def open_of(counters: Mapping[str, Any]) -> int:
    """A figure set's open postings."""
    value = counters.get("open")
    return int(value) if isinstance(value, int | float) else 0
