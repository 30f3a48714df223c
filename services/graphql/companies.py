"""`companies(filter)` and `company(name)`: employers ranked by open AI postings, and one
employer's figures (README: metros and companies).

Open positions per company are counters every role document keeps, so the ranking and a
company's `openPositions` never read postings. No rollup is keyed by company, though: what else a
company answers (its roles' figures, salary, skills, metros) comes from its open postings, read
once market-wide through the drill-down's company index and grouped per role, bounded like the
postings path of filters (at most MAX_POSTINGS_READ; refused beyond, never approximated).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Generic, TypeVar

import strawberry

from rolepulse.domain.aggregates import encode_key
from rolepulse.domain.entities import (
    average_pay,
    company_name,
    figures_by_role,
    ranked,
    summed,
)
from rolepulse.domain.filters import NO_FILTER, PostingFilter, slugify
from rolepulse.domain.model import SalaryBasis
from rolepulse.domain.rollups import (
    MAX_POSTINGS_READ,
    Counters,
    Source,
    driving_skill,
    postings_queries,
    scan_plan,
    source_for,
)
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.entity_figures import (
    EntityBasisArgument,
    EntityFigures,
    check_name,
    role_docs,
    roles_of,
    total_of,
)
from rolepulse.services.graphql.errors import BadInputError
from rolepulse.services.graphql.filters import CELLS_FILTER_COST, filter_price
from rolepulse.services.graphql.filters import PostingFilter as FilterInput
from rolepulse.services.graphql.ranking import AfterArgument, FirstArgument, rank_page, read_after
from rolepulse.services.graphql.relay import PageInfo
from rolepulse.services.graphql.slicing import Figures
from rolepulse.services.graphql.types import (
    LimitArgument,
    NameCount,
    Role,
    described,
)

Info = strawberry.Info[Context, None]
KIND = "companies"  # the connection's name, in its cursors
_T = TypeVar("_T")

FilterArgument = Annotated[
    FilterInput | None,
    strawberry.argument(
        description="Rank over the open postings matching it (README: filters); omitted: all."
    ),
]


class Lazy(Generic[_T]):
    """A value read at most once, when a field first needs it."""

    def __init__(self, make: Callable[[], Awaitable[_T]]) -> None:
        self._make = make
        self._task: asyncio.Future[_T] | None = None

    async def get(self) -> _T:
        if self._task is None:
            self._task = asyncio.ensure_future(self._make())
        return await self._task


@strawberry.type(
    description="A company's mean annual USD pay over its open postings with disclosed, "
    "plausible pay."
)
class CompanyPay:
    basis: SalaryBasis
    n: int = strawberry.field(description="Its open postings with disclosed, plausible pay.")
    avg_min: float | None = strawberry.field(description="Mean of range bottoms.")
    avg_max: float | None = strawberry.field(description="Mean of range tops.")
    average: float | None = strawberry.field(description="Mean on the chosen basis.")


@strawberry.type(description="A company as the companies connection lists it.")
class CompanySummary:
    name: str = strawberry.field(description="Canonical company name.")
    open_positions: int = strawberry.field(
        description="Its open AI jobs among the postings ranked (the filter's, if any)."
    )
    pay: strawberry.Private[Lazy[Counters]]

    @described("Its pay over the same postings; n 0 and nulls without disclosed pay.")
    async def salary(self, basis: EntityBasisArgument = None) -> CompanyPay:
        found = average_pay(await self.pay.get(), self.name, basis or SalaryBasis.MIDPOINT)
        return CompanyPay(
            basis=found.basis,
            n=found.n,
            avg_min=found.avg_min,
            avg_max=found.avg_max,
            average=found.average,
        )


@strawberry.type(description="A company in the ranking and the cursor of its place.")
class CompanyEdge:
    cursor: str
    node: CompanySummary


@strawberry.type(description="A page of companies by open AI postings (Relay connection).")
class CompanyConnection:
    edges: list[CompanyEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Companies with matching open AI postings.")


@strawberry.type(
    description="One employer over its open AI postings (README: metros and companies). A name "
    "without open postings is no error: its figures are those of nothing."
)
class Company(EntityFigures):
    by_role: strawberry.Private[Lazy[dict[str, Figures]]]
    taxonomy: strawberry.Private[Mapping[str, RoleInfo]]
    market: strawberry.Private[MarketAggregateDoc]

    async def figures(self) -> Figures:
        return total_of(await self.by_role.get())

    @described(
        "Each AI role it has open postings in, most first (ties by slug): the role filtered to "
        "this company, as role(slug, filter: {companies: [name]}) answers it."
    )
    async def roles(self) -> list[Role]:
        return roles_of(await self.by_role.get(), self.taxonomy, self.market)

    @described("Metros by its open postings there, most first, ties by name.")
    async def top_metros(self, limit: LimitArgument = 3) -> list[NameCount]:
        return await self._top("metros", limit)


async def resolve_companies(
    info: Info,
    first: FirstArgument = 20,
    after: AfterArgument = None,
    filter: FilterArgument = None,
) -> CompanyConnection:
    """Companies by open AI postings (matching `filter`), most first, ties by name."""
    position = read_after(first, after, KIND)
    ctx = info.context
    docs = await role_docs(ctx)
    f = NO_FILTER
    if filter is not None:
        # Companies in the filter resolve against every role's employers, not one role's.
        employers = summed(d.get("companies") for d in docs.values())
        f = await ctx.slices.resolve(filter, RoleAggregateDoc(companies=employers))
    by_role = await role_figures(ctx, docs, f)
    parts = await asyncio.gather(*(fig.part("companies") for fig in by_role.values()))
    page = rank_page(ranked(summed(parts)), KIND, first, position)

    async def pay() -> Counters:
        return summed(await asyncio.gather(*(g.part("company_pay") for g in by_role.values())))

    pays = Lazy(pay)
    return CompanyConnection(
        edges=[
            CompanyEdge(cursor=cursor, node=CompanySummary(name=n, open_positions=c, pay=pays))
            for (n, c), cursor in zip(page.entries, page.cursors, strict=True)
        ],
        page_info=page.page_info,
        total_count=page.total,
    )


async def resolve_company(info: Info, name: str) -> Company:
    """One employer by canonical name, or any case, or slug, among every role's employers with
    open postings (several matching: the one with the most open postings). One without open
    postings is answered with zero figures, as a filter's companies are."""
    ctx = info.context
    typed = check_name(name)
    docs = await role_docs(ctx)
    employers = summed(d.get("companies") for d in docs.values())
    canonical = company_name(typed, employers)

    async def read() -> dict[str, Figures]:
        if canonical is None:
            return {}
        f = PostingFilter(companies=frozenset({canonical}))
        what = f"The figures of company {canonical!r} beyond openPositions"
        by_role = await matching_figures(ctx, f, what)
        return {slug: Figures(c, filtered=True) for slug, c in by_role.items()}

    market = await ctx.market()
    found = employers.get(encode_key(canonical)) if canonical is not None else None
    return Company(
        name=canonical or typed,
        slug=slugify(canonical or typed),
        open_positions=int(found) if isinstance(found, int) else 0,
        market_open=int(market.get("open_ai", 0)),
        by_role=Lazy(read),
        taxonomy=ctx.taxonomy,
        market=market,
    )


async def role_figures(
    ctx: Context, docs: Mapping[str, RoleAggregateDoc], f: PostingFilter
) -> dict[str, Figures]:
    """Every role's figures under `f` from what answers it market-wide: the role documents, the
    cells (the same memoized reads as `role(slug, filter)`), or one read of the postings."""
    source = source_for(f)
    if source is Source.ROLE:
        return {slug: ctx.slices.unfiltered(slug, doc) for slug, doc in docs.items()}
    if source is Source.CELLS:
        # Only roles with open postings (in a named metro, if any) have cells to read.
        wanted = None if f.metros is None else {encode_key(m) for m in f.metros}
        present = [
            slug
            for slug, doc in docs.items()
            if doc.get("open") and (wanted is None or wanted & set(doc.get("metros") or ()))
        ]
        figures = await asyncio.gather(*(ctx.slices.figures(s, docs[s], f) for s in present))
        return dict(zip(present, figures, strict=True))
    # One skill's rollups lack company maps; the rest has no rollup: the postings, once.
    by_role = await matching_figures(ctx, f, "The companies of this filter")
    return {slug: Figures(c, filtered=True) for slug, c in by_role.items()}


async def matching_figures(ctx: Context, f: PostingFilter, what: str) -> dict[str, Counters]:
    """Each role's figure set over the open postings `f` selects, from one market-wide read of
    the postings through the narrowest index range (rollups.scan_plan with the market's open
    postings in place of a role's), at most MAX_POSTINGS_READ; refused beyond that."""
    slices = ctx.slices
    model = slices.model
    slugs = list(ctx.taxonomy)
    now = await slices.clock()
    first_seen: Counters = {}
    if f.posted_within_days is not None:  # bounds the market's range by first-seen day
        totals = await asyncio.gather(*(slices.totals(slug) for slug in slugs))
        first_seen = summed(t.get("first_seen") for t in totals)
    companies, skills = await model.market_counts(sorted(f.companies or ()), sorted(f.skills or ()))
    market_open = int((await ctx.market()).get("open_ai", 0))
    bound, dimension = scan_plan(f, market_open, first_seen, companies, skills, now)
    if bound > MAX_POSTINGS_READ:
        raise _too_many(what, bound)
    skill = driving_skill(f, skills)
    # The role index is read one range per role; the company and skill ranges hold every role.
    ranges = slugs if dimension == "role" else slugs[:1]
    queries = [q for slug in ranges for q in postings_queries(slug, f, dimension, now, skill)]
    states = await model.counted_postings(queries, MAX_POSTINGS_READ + 1)
    if len(states) > MAX_POSTINGS_READ:
        # The range also holds postings no AI count covers (a company's other jobs): refused
        # rather than computed from a truncated read.
        raise _too_many(what, len(states))
    return figures_by_role(states, ctx.taxonomy, f, now)


def companies_filter_price(value: object, roles: int) -> int:
    """Points `companies(filter:)` adds (services/graphql/cost.py): the cells of every role, or
    one market-wide read of postings (`filter_price` of one role's read)."""
    price = filter_price(value)
    return price * roles if price == CELLS_FILTER_COST else price


def _too_many(what: str, bound: int) -> BadInputError:
    return BadInputError(
        f"{what} come from the matching open postings, which means reading through {bound:,} "
        f"of them: more than the {MAX_POSTINGS_READ:,} a query may read. Narrow it "
        "(a company, a rarer skill, fewer postedWithinDays) or rank by metros, seniorities and "
        "workModes only, which pre-aggregated figures answer at any size.",
        scanMax=bound,
        readMax=MAX_POSTINGS_READ,
    )
