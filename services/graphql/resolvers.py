"""Root resolvers: load aggregate documents (or, under a filter, the rollups or postings that
answer it: services/graphql/slicing.py) through the request's loaders and map them."""

from __future__ import annotations

import asyncio

import strawberry

from rolepulse.domain.compare import TOP_SKILLS, RoleSide, compare
from rolepulse.domain.model import SalaryBasis
from rolepulse.services.graphql.comparison import RoleComparison
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.filters import PostingFilter
from rolepulse.services.graphql.types import Market, Role

Info = strawberry.Info[Context, None]

# Undescribed: the input type says what it does, and the contract fields' SDL stays one line.
FilterArgument = PostingFilter | None


async def market(info: Info) -> Market:
    ctx = info.context
    return Market.from_domain(await ctx.market(), list(ctx.taxonomy))


async def roles(info: Info) -> list[Role]:
    """Every taxonomy role, including those without any open posting yet."""
    # gather, not a loop of awaits: the DataLoader batches all twelve into one `$in` read.
    return list(await asyncio.gather(*(_role(info.context, s) for s in info.context.taxonomy)))


async def role(info: Info, slug: str, filter: FilterArgument = None) -> Role:
    return await _role(info.context, slug, filter=filter)


async def compare_roles(
    info: Info,
    a: str,
    b: str,
    salary_basis: SalaryBasis = SalaryBasis.MIDPOINT,
    filter: FilterArgument = None,
) -> RoleComparison:
    """Compare `a` against `b`; both roles' `salary` default to `salary_basis`, and both are
    taken over the open postings `filter` selects."""
    ctx = info.context
    role_a, role_b = await asyncio.gather(
        _role(ctx, a, salary_basis, filter), _role(ctx, b, salary_basis, filter)
    )
    result = compare(_side(role_a, salary_basis), _side(role_b, salary_basis))
    return RoleComparison.from_domain(result, role_a, role_b)


def _side(role: Role, basis: SalaryBasis) -> RoleSide:
    return RoleSide(role.title, role.stats(basis), role.skill_names(TOP_SKILLS))


async def _role(
    ctx: Context,
    slug: str,
    basis: SalaryBasis = SalaryBasis.MIDPOINT,
    filter: PostingFilter | None = None,
) -> Role:
    info = ctx.role_info(slug)
    doc, market_doc = await asyncio.gather(ctx.role_docs.load(slug), ctx.market())
    if filter is None:
        figures = ctx.slices.unfiltered(slug, doc)
    else:
        # Names resolve per role: companies against the role's own employers.
        posting_filter = await ctx.slices.resolve(filter, doc)
        figures = await ctx.slices.figures(slug, doc, posting_filter)
    return Role.from_domain(info, figures, market_doc, basis)
