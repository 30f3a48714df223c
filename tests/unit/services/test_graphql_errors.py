"""GraphQL error handling, limits and caching, through `schema.execute` on a small fake store."""

from __future__ import annotations

from collections.abc import Sequence
from functools import _lru_cache_wrapper
from typing import Any, cast

import pytest
import strawberry
from graphql import GraphQLFormattedError
from strawberry.extensions.validation_cache import _get_validate_cache

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.errors import MASKED_MESSAGE
from rolepulse.services.graphql.schema import CACHE_SIZE, build_schema
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

SLUGS = ("ai-software-engineer", "ai-product-manager", "llm-engineer")
TAXONOMY = {slug: RoleInfo(slug, slug.title(), "focus", ()) for slug in SLUGS}


class FakeReadModel:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        if self.fail:
            raise RuntimeError("secret connection string mongodb://admin:hunter2@db")
        return {
            "ai-software-engineer": {"_id": "ai-software-engineer", "open": 2, "skills": {"RAG": 2}}
        }

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "seen": 3, "open_ai": 2}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


@pytest.fixture
def schema() -> strawberry.Schema:
    return build_schema(ApiSettings(max_query_depth=8, max_aliases=3))


@pytest.fixture
def store() -> FakeReadModel:
    return FakeReadModel()


async def run(schema: strawberry.Schema, store: FakeReadModel, query: str) -> dict[str, Any]:
    result = await schema.execute(query, context_value=build_context(store, TAXONOMY))
    assert result.errors is None
    assert result.data is not None
    return result.data


async def errors_of(
    schema: strawberry.Schema, store: FakeReadModel, query: str
) -> list[GraphQLFormattedError]:
    result = await schema.execute(query, context_value=build_context(store, TAXONOMY))
    assert result.errors, "expected errors"
    return [e.formatted for e in result.errors]


async def test_unknown_slug_names_it_and_lists_valid_slugs(
    schema: strawberry.Schema, store: FakeReadModel
) -> None:
    query = '{ compareRoles(a: "ai-software-engineer", b: "astronaut") { premiumPct } }'
    (error,) = await errors_of(schema, store, query)
    assert "'astronaut'" in error["message"]
    assert "ai-product-manager" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["validSlugs"] == sorted(SLUGS)


async def test_an_unknown_slug_is_echoed_at_most_100_characters(
    schema: strawberry.Schema, store: FakeReadModel
) -> None:
    slug = "z" * 1_000_000
    query = "query($s: String!) { role(slug: $s) { slug } }"
    result = await schema.execute(
        query, variable_values={"s": slug}, context_value=build_context(store, TAXONOMY)
    )
    assert result.errors
    (error,) = [e.formatted for e in result.errors]
    assert error["extensions"]["slug"] == "z" * 100 + "…"
    assert f"'{'z' * 100}…'" in error["message"]
    assert len(error["message"]) < 300


@pytest.mark.parametrize("limit", [0, 101, -3])
async def test_limit_out_of_range(
    schema: strawberry.Schema, store: FakeReadModel, limit: int
) -> None:
    query = f'{{ role(slug: "ai-software-engineer") {{ topSkills(limit: {limit}) {{ name }} }} }}'
    (error,) = await errors_of(schema, store, query)
    assert error["message"] == f"limit must be between 1 and 100 (inclusive), got {limit}"
    assert error["path"] == ["role", "topSkills"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("{ market { openPositions ", "Syntax Error"),
        ("{ market { nope } }", "Cannot query field 'nope'"),
        ('{ compareRoles(a: "x", b: "y", salaryBasis: HIGH) { verdict } }', "SalaryBasis"),
    ],
)
async def test_standard_graphql_errors(
    schema: strawberry.Schema, store: FakeReadModel, query: str, fragment: str
) -> None:
    (error, *_) = await errors_of(schema, store, query)
    assert fragment in error["message"]


async def test_alias_limit(schema: strawberry.Schema, store: FakeReadModel) -> None:
    three = "{ " + " ".join(f"m{i}: market {{ postingsSeen }}" for i in range(3)) + " }"
    await run(schema, store, three)
    four = "{ " + " ".join(f"m{i}: market {{ postingsSeen }}" for i in range(4)) + " }"
    (error,) = await errors_of(schema, store, four)
    assert "aliases" in error["message"]


async def test_depth_limit(store: FakeReadModel) -> None:
    shallow = build_schema(ApiSettings(max_query_depth=1))
    await run(shallow, store, '{ role(slug: "llm-engineer") { slug } }')
    (error,) = await errors_of(shallow, store, '{ role(slug: "x") { salary { n } } }')
    assert "exceeds maximum operation depth of 1" in error["message"]


async def test_validation_is_cached_with_the_limit_rules(
    schema: strawberry.Schema, store: FakeReadModel
) -> None:
    # Regression guard for strawberry #4635: per-request rule classes made every lookup miss.
    cache = cast("_lru_cache_wrapper[Any]", _get_validate_cache(CACHE_SIZE))
    cache_info = cache.cache_info
    query = '{ role(slug: "llm-engineer") { slug openPositions } }'
    await run(schema, store, query)
    hits = cache_info().hits
    await run(schema, store, query)
    await run(schema, store, query)
    assert cache_info().hits == hits + 2


async def test_unexpected_failure_is_masked(
    schema: strawberry.Schema, caplog: pytest.LogCaptureFixture
) -> None:
    broken = FakeReadModel(fail=True)
    (error,) = await errors_of(schema, broken, '{ role(slug: "llm-engineer") { slug } }')
    assert error["message"] == MASKED_MESSAGE
    assert "hunter2" not in str(error)
    assert any("hunter2" in r.getMessage() for r in caplog.records)
