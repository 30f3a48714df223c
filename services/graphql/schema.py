"""The schema: root query and subscription, performance extensions and error masking, plus SDL
export."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    ParserCache,
    SchemaExtension,
    ValidationCache,
    max_aliases,
    query_depth_limiter,
)
from strawberry.types import ExecutionContext

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.graphql import resolvers
from rolepulse.services.graphql.companies import (
    Company,
    CompanyConnection,
    resolve_companies,
    resolve_company,
)
from rolepulse.services.graphql.comparison import RoleComparison
from rolepulse.services.graphql.cost import CostCache, CostLimiter, rolepulse_cost_model
from rolepulse.services.graphql.errors import MASKED_MESSAGE, is_unexpected, log_errors
from rolepulse.services.graphql.metros import Metro, MetroConnection, resolve_metro, resolve_metros
from rolepulse.services.graphql.postings import PostingConnection, resolve_postings
from rolepulse.services.graphql.skills import (
    Skill,
    SkillConnection,
    resolve_skill,
    resolve_skills,
)
from rolepulse.services.graphql.subscriptions import LiveExecutor, Subscription
from rolepulse.services.graphql.types import Market, Role
from rolepulse.settings import ApiSettings
from rolepulse.taxonomy import load_taxonomy

CACHE_SIZE = 512  # distinct query texts kept parsed and validated


@strawberry.type(description="Per-role figures and role-vs-role comparisons of AI job postings.")
class Query:
    market: Market = strawberry.field(resolver=resolvers.market)
    roles: list[Role] = strawberry.field(resolver=resolvers.roles)
    role: Role = strawberry.field(resolver=resolvers.role)
    compare_roles: RoleComparison = strawberry.field(resolver=resolvers.compare_roles)
    postings: PostingConnection = strawberry.field(
        resolver=resolve_postings,
        description="The open postings behind any figure, one per job, a page at a time "
        "(README: drill-down).",
    )
    skill: Skill = strawberry.field(
        resolver=resolve_skill,
        description="A skill: its demand across roles and its pay premium in each "
        "(README: skills and the market trend).",
    )
    skills: SkillConnection = strawberry.field(
        resolver=resolve_skills,
        description="Skills ranked by open postings mentioning them, over every role or one.",
    )
    metros: MetroConnection = strawberry.field(
        resolver=resolve_metros,
        description="Metros ranked by open AI postings (README: metros and companies).",
    )
    metro: Metro = strawberry.field(
        resolver=resolve_metro,
        description="One metro's figures over every AI role, and each role's there.",
    )
    companies: CompanyConnection = strawberry.field(
        resolver=resolve_companies,
        description="Companies ranked by open AI postings, over those a filter selects.",
    )
    company: Company = strawberry.field(
        resolver=resolve_company,
        description="One company's figures over every AI role, and each role's there.",
    )


class RolepulseSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Client mistakes are routine; only failing resolvers deserve an error log with traceback.
        log_errors(errors)


def limit_rules(settings: ApiSettings) -> list[type[ASTValidationRule]]:
    """Depth and alias limits, built ONCE per schema.

    The documented `QueryDepthLimiter(...)` / `MaxAliasesLimiter(...)` extensions create a new
    rule class per request since extensions became per-request, so ValidationCache (keyed on the
    rule classes) misses every time (strawberry issue #4635). Stable classes keep it hitting.
    """
    return [
        query_depth_limiter.create_validator(settings.max_query_depth, should_ignore=None),
        max_aliases.create_validator(settings.max_aliases),
    ]


def build_schema(
    settings: ApiSettings, roles: Mapping[str, RoleInfo] | None = None
) -> strawberry.Schema:
    """`roles` is the taxonomy (slug -> RoleInfo) list costs are sized by; default: packaged."""
    rules = limit_rules(settings)
    # The schema's price list, made once the schema is built and before it answers a request;
    # one for all requests, like the parser and validation caches. Empty: no cost analysis.
    prices: list[CostCache] = []

    def validation() -> SchemaExtension:
        if not prices:
            return ValidationCache(maxsize=CACHE_SIZE)
        # Prices the operation first and validates (cached) only what it admits.
        return CostLimiter(
            prices[0], settings.max_query_cost, settings.max_query_nodes, maxsize=CACHE_SIZE
        )

    extensions: Sequence[Callable[[], SchemaExtension]] = (
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        validation,
        lambda: MaskErrors(should_mask_error=is_unexpected, error_message=MASKED_MESSAGE),
    )
    schema = RolepulseSchema(
        query=Query,
        subscription=Subscription,
        extensions=extensions,
        # Executes each subscription event with the context its value was read through, once
        # for all subscriptions of identical selections (services/graphql/subscriptions.py).
        execution_context_class=LiveExecutor,
    )
    if settings.cost_analysis:
        taxonomy = roles if roles is not None else load_taxonomy().roles
        prices.append(CostCache(rolepulse_cost_model(schema._schema, taxonomy), CACHE_SIZE))
    return schema


def export_sdl() -> str:
    """The schema in SDL, as committed to schema/schema.graphql (settings do not change it)."""
    return strawberry.Schema(query=Query, subscription=Subscription).as_str() + "\n"
