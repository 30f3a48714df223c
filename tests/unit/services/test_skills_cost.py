"""The price of skills and the market trend (services/graphql/cost.py): `skills` pages count
`first` edges, a skill's roles every taxonomy role, each `pay` the rollup it reads, and the
market's trend its `weeks`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import parse

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.graphql.cost import QueryCost, analyze, rolepulse_cost_model
from rolepulse.services.graphql.errors import LIMIT_MAX, WEEKS_MAX
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.graphql.skills import SKILL_PAY_COST
from rolepulse.settings import ApiSettings

ROLES = 12
TAXONOMY = {f"role-{i}": RoleInfo(f"role-{i}", f"Role {i}", "focus", ()) for i in range(ROLES)}
SETTINGS = ApiSettings()
MODEL = rolepulse_cost_model(build_schema(SETTINGS, TAXONOMY)._schema, TAXONOMY)
CONTRACT = (Path(__file__).resolve().parents[3] / "schema" / "contract_query.graphql").read_text()


def price(query: str, variables: dict[str, Any] | None = None) -> QueryCost:
    return analyze(MODEL, parse(query), variables)


def test_a_skills_roles_count_every_role_and_each_pay_its_rollup_read() -> None:
    # skill 1 + name 1 + roles (1 + 12 x (openPositions 1 + pay (1 + read + premiumPct 1)))
    query = '{ skill(name: "Python") { name roles { openPositions pay { premiumPct } } } }'
    assert price(query).cost == 2 + 1 + ROLES * (1 + 1 + SKILL_PAY_COST + 1)
    # Without pay nothing is read but the documents every role field reads anyway.
    plain = '{ skill(name: "Python") { roles { role { slug } openPositions } } }'
    assert price(plain).cost == 1 + 1 + ROLES * (1 + 1 + 1)


@pytest.mark.parametrize(
    ("arguments", "size"),
    [("", 20), ("(first: 5)", 5), ("(first: 1000)", LIMIT_MAX), ('(role: "role-1")', 20)],
)
def test_skills_pages_count_first_edges(arguments: str, size: int) -> None:
    query = f"{{ skills{arguments} {{ totalCount edges {{ cursor node {{ name }} }} }} }}"
    # skills 1 + totalCount 1 + edges (1 + size x (cursor 1 + node 2))
    assert price(query).cost == 3 + size * 3


def test_every_skill_of_a_page_with_its_pay_is_over_the_budget() -> None:
    query = "{ skills(first: 100) { edges { node { roles { pay { premiumPct } } } } } }"
    assert price(query).cost > SETTINGS.max_query_cost
    small = "{ skills(first: 10) { edges { node { roles { pay { premiumPct } } } } } }"
    assert price(small).cost < SETTINGS.max_query_cost


@pytest.mark.parametrize(("weeks", "size"), [(None, 12), (4, 4), (1_000, WEEKS_MAX)])
def test_the_market_trend_counts_its_weeks(weeks: int | None, size: int) -> None:
    arguments = "" if weeks is None else f"(weeks: {weeks})"
    query = f"{{ market {{ weeklyTrend{arguments} {{ week openPositions }} }} }}"
    assert price(query).cost == 1 + 1 + size * 2
    change = "{ market { openPositionsChange { change changePct } } }"
    assert price(change).cost == 1 + 1 + 2


def test_the_contract_query_costs_what_it_did() -> None:
    variables = {"a": "ai-software-engineer", "b": "ai-product-manager"}
    assert price(CONTRACT, variables) == QueryCost(104, 56)
