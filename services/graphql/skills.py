"""`skill(name)` and `skills(first, after, role)`: skills as entities, their demand across roles
and the pay they go with in each role (rolepulse/domain/skill_demand.py).

Demand is read from the role documents' skill counters, pay from the skill rollups and the role
documents; nothing here reads postings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Annotated, Any

import strawberry

from rolepulse.domain.aggregates import encode_key, salary_stats
from rolepulse.domain.entities import ranked, summed
from rolepulse.domain.figures import LOW_CONFIDENCE_N
from rolepulse.domain.filters import PostingFilter, slugify
from rolepulse.domain.model import SalaryBasis
from rolepulse.domain.skill_demand import demand_by_role, premium_pct, subtract
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.entity_figures import role_docs
from rolepulse.services.graphql.filters import CELLS_FILTER_COST
from rolepulse.services.graphql.mixes import pct
from rolepulse.services.graphql.ranking import AfterArgument, FirstArgument, rank_page, read_after
from rolepulse.services.graphql.relay import PageInfo
from rolepulse.services.graphql.slicing import Figures, skill_name
from rolepulse.services.graphql.types import Role, Salary, described

Info = strawberry.Info[Context, None]

# Query cost (services/graphql/cost.py) of one `pay`: it reads one skill rollup, about what a
# filter answered by cell rollups reads.
SKILL_PAY_COST = CELLS_FILTER_COST
KIND = "skills"  # the connection's name, in its cursors

NameArgument = Annotated[
    str, strawberry.argument(description="A taxonomy skill's canonical name or slug, any case.")
]
RoleArgument = Annotated[
    str | None,
    strawberry.argument(
        description="A role slug: rank by that role's open postings; omitted: by every AI role's."
    ),
]
PayBasisArgument = Annotated[
    SalaryBasis, strawberry.argument(description="Salary basis of both sides and the premiums.")
]


@strawberry.type(
    description="Pay of a role's open postings that mention a skill against its open postings "
    "that do not (every open posting of the role is on exactly one side)."
)
class SkillPay:
    basis: SalaryBasis
    with_skill: Salary = strawberry.field(
        description="Over the role's open postings mentioning the skill (its skill rollup)."
    )
    without_skill: Salary = strawberry.field(
        description="Over the role's other open postings: the role's figures minus the skill's."
    )
    premium_pct: float | None = strawberry.field(
        description="(withSkill.average / withoutSkill.average - 1) * 100; null when either "
        "side has no disclosed pay."
    )
    median_premium_pct: float | None = strawberry.field(
        description="(withSkill.median / withoutSkill.median - 1) * 100; null likewise."
    )
    low_confidence: bool = strawberry.field(
        description=f"True when either side has n < {LOW_CONFIDENCE_N}: the premium is then "
        "indicative only."
    )


@strawberry.type(description="A skill's demand in one role, and the pay it goes with there.")
class SkillInRole:
    role: Role
    open_positions: int = strawberry.field(
        description="Open postings of the role mentioning the skill."
    )
    demand_share_pct: float | None = strawberry.field(
        description="openPositions / the role's open positions * 100."
    )
    skill: strawberry.Private[str]
    doc: strawberry.Private[RoleAggregateDoc]

    @described(
        "Pay with the skill against pay without it, in this role. Reads the skill's rollup "
        f"(priced {SKILL_PAY_COST} points each)."
    )
    async def pay(self, info: Info, basis: PayBasisArgument = SalaryBasis.MIDPOINT) -> SkillPay:
        slices = info.context.slices
        slug = self.role.slug
        with_figures = await slices.figures(
            slug, self.doc, PostingFilter(skills=frozenset({self.skill}))
        )
        with_counters = with_figures.counters

        async def provenance() -> Mapping[str, Any]:
            # Only the total rollup holds the role's salary provenance; read when asked.
            total = (await slices.totals(slug)).get("salary_source") or {}
            return {"salary_source": subtract(total, with_counters.get("salary_source") or {})}

        salary = subtract(self.doc.get("salary") or {}, with_counters.get("salary") or {})
        without_figures = Figures(
            {"salary": salary},
            filtered=True,
            missing=frozenset({"salary_source"}),
            more=provenance,
        )
        with_stats = salary_stats(with_counters.get("salary") or {}, basis)
        without_stats = salary_stats(salary, basis)
        return SkillPay(
            basis=basis,
            with_skill=Salary.from_domain(with_stats, with_figures),
            without_skill=Salary.from_domain(without_stats, without_figures),
            premium_pct=premium_pct(with_stats.average, without_stats.average),
            median_premium_pct=premium_pct(with_stats.median, without_stats.median),
            low_confidence=min(with_stats.n, without_stats.n) < LOW_CONFIDENCE_N,
        )


@strawberry.type(
    description="A taxonomy skill over the current open set: its demand across AI roles and, "
    "per role, the pay it goes with."
)
class Skill:
    name: str = strawberry.field(description="Canonical name, e.g. 'Python'.")
    slug: str = strawberry.field(description="URL form of the name, e.g. 'python'.")
    open_positions: int = strawberry.field(
        description="Open AI jobs mentioning it, over every role (a job counts in one role)."
    )
    share_of_market_pct: float | None = strawberry.field(
        description="openPositions / market openPositions * 100; null when the market is empty."
    )
    docs: strawberry.Private[Mapping[str, RoleAggregateDoc]]
    market: strawberry.Private[MarketAggregateDoc]

    @described(
        "The roles whose open postings mention it (only those), most such postings first, "
        "ties in taxonomy order."
    )
    def roles(self, info: Info) -> list[SkillInRole]:
        ctx = info.context
        return [
            SkillInRole(
                role=Role.from_domain(
                    ctx.role_info(d.role),
                    ctx.slices.unfiltered(d.role, self.docs[d.role]),
                    self.market,
                ),
                open_positions=d.count,
                demand_share_pct=pct(d.count, d.role_open),
                skill=self.name,
                doc=self.docs[d.role],
            )
            for d in demand_by_role(self.docs, self.name, list(ctx.taxonomy))
        ]

    @classmethod
    def of(
        cls,
        name: str,
        counts: Mapping[str, int],
        docs: Mapping[str, RoleAggregateDoc],
        market: MarketAggregateDoc,
    ) -> Skill:
        """`counts`: open postings per skill over every role, keyed as stored (encode_key)."""
        count = int(counts.get(encode_key(name), 0))
        return cls(
            name=name,
            slug=slugify(name),
            open_positions=count,
            share_of_market_pct=pct(count, market.get("open_ai", 0)),
            docs=docs,
            market=market,
        )


@strawberry.type(description="A skill and the cursor of its place in the ranking.")
class SkillEdge:
    cursor: str
    node: Skill
    open_positions: int = strawberry.field(
        description="Open postings mentioning it in the connection's scope (the `role` asked "
        "for, else every role): what the ranking is by."
    )
    share_pct: float | None = strawberry.field(
        description="openPositions / the scope's open positions * 100."
    )


@strawberry.type(description="A page of skills ranked by open postings (Relay connection).")
class SkillConnection:
    edges: list[SkillEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(
        description="Skills with at least one open posting in the scope, all pages together."
    )


async def resolve_skill(info: Info, name: NameArgument) -> Skill:
    """A skill by name; BAD_USER_INPUT with the closest valid names when it names none."""
    canonical = skill_name(name, "name")
    docs, market = await _documents(info.context)
    return Skill.of(canonical, _market_counts(docs), docs, market)


async def resolve_skills(
    info: Info,
    first: FirstArgument = 20,
    after: AfterArgument = None,
    role: RoleArgument = None,
) -> SkillConnection:
    """Skills by open postings mentioning them, most first, then by name; a page at a time."""
    ctx = info.context
    position = read_after(first, after, KIND)
    if role is not None:
        ctx.role_info(role)  # an unknown slug is BAD_USER_INPUT
    docs, market = await _documents(ctx)
    counts = _market_counts(docs)
    if role is None:
        scope, scope_open = counts, market.get("open_ai", 0)
    else:
        scope, scope_open = docs[role].get("skills") or {}, int(docs[role].get("open") or 0)
    page = rank_page(ranked(scope), KIND, first, position)
    return SkillConnection(
        edges=[
            SkillEdge(
                cursor=cursor,
                node=Skill.of(name, counts, docs, market),
                open_positions=count,
                share_pct=pct(count, scope_open),
            )
            for (name, count), cursor in zip(page.entries, page.cursors, strict=True)
        ],
        page_info=page.page_info,
        total_count=page.total,
    )


async def _documents(ctx: Context) -> tuple[dict[str, RoleAggregateDoc], MarketAggregateDoc]:
    """Every taxonomy role's document and the market's."""
    docs, market = await asyncio.gather(role_docs(ctx), ctx.market())
    return docs, market


def _market_counts(docs: Mapping[str, RoleAggregateDoc]) -> dict[str, int]:
    """Open postings per skill over every role, keyed as stored: a job counts in one role."""
    return summed(d.get("skills") for d in docs.values())
