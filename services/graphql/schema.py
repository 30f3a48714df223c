"""The schema: root query, performance extensions and error masking, plus SDL export."""

from __future__ import annotations

from collections.abc import Callable, Sequence

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

from rolepulse.services.graphql import resolvers
from rolepulse.services.graphql.comparison import RoleComparison
from rolepulse.services.graphql.errors import MASKED_MESSAGE, is_unexpected, log_errors
from rolepulse.services.graphql.types import Market, Role
from rolepulse.settings import ApiSettings

CACHE_SIZE = 512  # distinct query texts kept parsed and validated


@strawberry.type(description="Per-role figures and role-vs-role comparisons of AI job postings.")
class Query:
    market: Market = strawberry.field(resolver=resolvers.market)
    roles: list[Role] = strawberry.field(resolver=resolvers.roles)
    role: Role = strawberry.field(resolver=resolvers.role)
    compare_roles: RoleComparison = strawberry.field(resolver=resolvers.compare_roles)


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


def build_schema(settings: ApiSettings) -> strawberry.Schema:
    rules = limit_rules(settings)
    extensions: Sequence[Callable[[], SchemaExtension]] = (
        lambda: ParserCache(maxsize=CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        lambda: MaskErrors(should_mask_error=is_unexpected, error_message=MASKED_MESSAGE),
    )
    return RolepulseSchema(query=Query, extensions=extensions)


def export_sdl() -> str:
    """The schema in SDL, as committed to schema/schema.graphql (settings do not change it)."""
    return strawberry.Schema(query=Query).as_str() + "\n"
