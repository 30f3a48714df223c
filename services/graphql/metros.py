"""`metros` and `metro(name)`: metros ranked by open AI postings, and one metro's figures from its
cells (README: metros and companies).

The ranking comes from the role documents' metro counters (no rollup read); a metro's figures
from the `"<role>|<metro>"` cells of the roles with open postings there, through the same
request-memoized reads as `role(slug, filter: {metros: [name]})` (services/graphql/slicing.py),
so a metro's roles are exactly those filtered roles, at one cell document each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import strawberry

from rolepulse.domain.aggregates import encode_key
from rolepulse.domain.entities import ranked, summed
from rolepulse.domain.figures import top_paying
from rolepulse.domain.filters import PostingFilter, slugify
from rolepulse.domain.model import SalaryBasis
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.entity_figures import (
    EntityBasisArgument,
    EntityFigures,
    check_min_postings,
    check_name,
    open_of,
    role_docs,
    roles_of,
    total_of,
)
from rolepulse.services.graphql.errors import BadInputError, check_limit
from rolepulse.services.graphql.ranking import AfterArgument, FirstArgument, rank_page, read_after
from rolepulse.services.graphql.relay import PageInfo
from rolepulse.services.graphql.slicing import Figures
from rolepulse.services.graphql.types import (
    LimitArgument,
    MinPostingsArgument,
    NameCount,
    PayingCompany,
    PayingLimitArgument,
    Role,
    described,
)

Info = strawberry.Info[Context, None]
KIND = "metros"  # the connection's name, in its cursors
REMOTE = (
    "'Remote' is a work mode, not a metro: a posting without a metro is in no metro. Remote jobs "
    "are counted by a role's workModes / remotePct, and listed with a filter's workModes: [REMOTE]."
)


@strawberry.type(description="A metro and its open AI jobs, as the metros connection lists it.")
class MetroSummary:
    name: str = strawberry.field(description="Canonical metro name.")
    slug: str
    open_positions: int


@strawberry.type(description="A metro in the ranking and the cursor of its place.")
class MetroEdge:
    cursor: str
    node: MetroSummary


@strawberry.type(description="A page of metros by open AI postings (Relay connection).")
class MetroConnection:
    edges: list[MetroEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Metros with open AI postings.")


@strawberry.type(
    description="One metro over the open AI postings located there (README: metros and "
    "companies); a posting without a metro (remote-only) is in none."
)
class Metro(EntityFigures):
    total: strawberry.Private[Figures]
    by_role: strawberry.Private[dict[str, Figures]]
    taxonomy: strawberry.Private[Mapping[str, RoleInfo]]
    market: strawberry.Private[MarketAggregateDoc]

    async def figures(self) -> Figures:
        return self.total

    @described(
        "Each AI role with open postings here, most first (ties by slug): the role filtered to "
        "this metro, as role(slug, filter: {metros: [name]}) answers it."
    )
    def roles(self) -> list[Role]:
        return roles_of(self.by_role, self.taxonomy, self.market)

    @described("Companies by open postings here, most first, ties by name.")
    async def top_companies(self, limit: LimitArgument = 4) -> list[NameCount]:
        return await self._top("companies", limit)

    @described(
        "Companies by mean annual pay (on `basis`) over their open postings here with disclosed "
        "pay, highest first, ties by name; only those with at least minPostings such postings."
    )
    def top_paying_companies(
        self,
        limit: PayingLimitArgument = 10,
        min_postings: MinPostingsArgument = 3,
        basis: EntityBasisArgument = None,
    ) -> list[PayingCompany]:
        check_limit(limit)
        check_min_postings(min_postings)
        pay = self.total.counters.get("company_pay")
        ranked_pay = top_paying(
            pay if isinstance(pay, Mapping) else {},
            basis or SalaryBasis.MIDPOINT,
            limit,
            min_postings,
        )
        return [PayingCompany(name=c.name, n=c.n, average=c.average) for c in ranked_pay]


async def resolve_metros(
    info: Info, first: FirstArgument = 20, after: AfterArgument = None
) -> MetroConnection:
    """Metros with open AI postings, most first, ties by name: the role documents' metro
    counters summed (a posting without a metro is in none)."""
    position = read_after(first, after, KIND)
    docs = await role_docs(info.context)
    ranking = ranked(summed(doc.get("metros") for doc in docs.values()))
    page = rank_page(ranking, KIND, first, position)
    return MetroConnection(
        edges=[
            MetroEdge(cursor=cursor, node=MetroSummary(name=n, slug=slugify(n), open_positions=c))
            for (n, c), cursor in zip(page.entries, page.cursors, strict=True)
        ],
        page_info=page.page_info,
        total_count=page.total,
    )


async def resolve_metro(info: Info, name: str) -> Metro:
    """One metro by canonical name or slug, any case, resolved like a filter's metros: a
    taxonomy metro or a place with an open posting; an unknown one is BAD_USER_INPUT listing the
    closest valid names. A known metro without open postings has zero figures."""
    ctx = info.context
    typed = check_name(name)
    if slugify(typed) == "remote":
        raise BadInputError(REMOTE, argument="name")
    canonical = await ctx.slices.metro_name(typed, "name")
    docs = await role_docs(ctx)
    f = PostingFilter(metros=frozenset({canonical}))
    key = encode_key(canonical)
    # Only roles with open postings there have a cell; the others would read nothing.
    present = [s for s, d in docs.items() if (d.get("metros") or {}).get(key)]
    figures, market = await asyncio.gather(
        asyncio.gather(*(ctx.slices.figures(s, docs[s], f) for s in present)), ctx.market()
    )
    by_role = dict(zip(present, figures, strict=True))
    total = total_of(by_role)
    return Metro(
        name=canonical,
        slug=slugify(canonical),
        open_positions=open_of(total.counters),
        market_open=int(market.get("open_ai", 0)),
        total=total,
        by_role=by_role,
        taxonomy=ctx.taxonomy,
        market=market,
    )
