"""The introspection budget (services/graphql/cost.py): sized by the schema, not the client.

GraphiQL's introspection query costs what the schema holds (4,471 points here, near the
5,000 budget), so an operation of introspection fields alone is held to twice the price of the
full introspection query instead; fragment fan-outs and type-graph walks are still refused, and
an operation that also asks for data keeps the ordinary budget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import httpx
from graphql import (
    GraphQLSchema,
    get_introspection_query,
    parse,
    print_ast,
    print_schema,
    specified_scalar_types,
)
from graphql import build_schema as schema_from_sdl

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.graphiql import STATIC
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.cost import (
    FULL_INTROSPECTION_QUERY,
    CostModel,
    QueryCost,
    analyze,
    rolepulse_cost_model,
)
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

SLUGS = ("ai-software-engineer", "ai-product-manager", *(f"role-{i}" for i in range(10)))
TAXONOMY = {slug: RoleInfo(slug, slug.title(), "focus", ("A", "B")) for slug in SLUGS}
SETTINGS = ApiSettings()
SCHEMA = build_schema(SETTINGS, TAXONOMY)
MODEL = rolepulse_cost_model(SCHEMA._schema, TAXONOMY)
BUDGET = SETTINGS.max_query_cost
INTROSPECTION_BUDGET = MODEL.introspection_budget(BUDGET)


class FakeReadModel:
    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {s: {"_id": s, "open": 3} for s in slugs}

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "open_ai": 12}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


def graphiql_introspection_query() -> str:
    """The query the bundled GraphiQL sends: graphql-js's `getIntrospectionQuery` as GraphiQL
    3.9 calls it (descriptions on, every other option off), read from the bundle itself."""
    bundle = (STATIC / "graphiql.min.js").read_text()
    found = re.search(r"\{const t=\{descriptions:!0,[^}]*\},(.*?)return`(.*?)`\}", bundle, re.S)
    assert found is not None, "getIntrospectionQuery not found in graphiql.min.js"
    head, template = found.groups()
    described = re.search(r'(\w+)=t\.descriptions\?"description":""', head)
    assert described is not None
    query = template.replace("${" + described.group(1) + "}", "description")
    return re.sub(r"\$\{[^}]*\}", "", query).replace("\\n", "\n")  # every other option: off


def price(model: CostModel, query: str) -> QueryCost:
    return analyze(model, parse(query))


def doubled(schema: GraphQLSchema) -> GraphQLSchema:
    """`schema` plus a renamed copy of each of its own types: twice as much to introspect."""
    sdl = print_schema(schema)
    own = [n for n in schema.type_map if not n.startswith("__") and n not in specified_scalar_types]
    copy = re.sub(r"\b(" + "|".join(own) + r")\b", r"\1Copy", sdl)
    return schema_from_sdl(f"{sdl}\n{copy}")


def fan_out_over_types(levels: int) -> str:
    """`__schema { types { ...F0 } }`, each fragment on __Type spreading the next twice."""
    chain = "\n".join(
        f"fragment F{i} on __Type {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return (
        f"{{ __schema {{ types {{ ...F0 }} }} }}\n{chain}\nfragment F{levels} on __Type {{ name }}"
    )


async def execute(query: str, settings: ApiSettings = SETTINGS) -> Any:
    schema = build_schema(settings, TAXONOMY)
    return await schema.execute(query, context_value=build_context(FakeReadModel(), TAXONOMY))


def test_graphiqls_query_is_graphql_js_own_and_costs_no_more_than_the_full_one() -> None:
    graphiql = graphiql_introspection_query()
    # graphql-core's (descriptions only) differs by the order of `kind`/`name` and a `kind`
    # on the root types; the full query asks for a superset of GraphiQL's fields.
    assert "__schema" in graphiql
    assert "specifiedByURL" not in graphiql
    assert print_ast(parse(graphiql)) != print_ast(parse(get_introspection_query()))
    assert price(MODEL, graphiql).cost <= price(MODEL, FULL_INTROSPECTION_QUERY).cost
    assert price(MODEL, graphiql).introspection


def test_graphiqls_introspection_passes_with_room_to_double() -> None:
    priced = price(MODEL, graphiql_introspection_query())
    assert priced.cost * 2 <= INTROSPECTION_BUDGET
    assert INTROSPECTION_BUDGET == 2 * MODEL.introspection_cost > BUDGET  # 9,326 here
    # Nodes do not grow with the schema (lists are not multiplied): far under the limit.
    assert priced.nodes * 5 <= SETTINGS.max_query_nodes


def test_the_introspection_budget_grows_with_the_schema() -> None:
    bigger = rolepulse_cost_model(doubled(SCHEMA._schema), TAXONOMY)
    graphiql = graphiql_introspection_query()
    before, after = price(MODEL, graphiql), price(bigger, graphiql)
    assert after.cost > BUDGET  # the old single budget would now refuse GraphiQL
    assert after.cost > 1.5 * before.cost
    assert after.nodes == before.nodes
    # Still twice over: the budget follows the schema's size, not a constant.
    assert after.cost * 2 <= bigger.introspection_budget(BUDGET)
    assert bigger.introspection_budget(BUDGET) > 1.5 * INTROSPECTION_BUDGET


async def test_graphiqls_introspection_runs() -> None:
    result = await execute(graphiql_introspection_query())
    assert result.errors is None
    assert result.extensions["cost"]["budget"] == INTROSPECTION_BUDGET


async def test_introspection_over_the_ordinary_budget_runs() -> None:
    # The full query plus a second look at every type's fields (1,517 points): over 5,000.
    extra = (
        "fieldTypes: __schema { types { name fields { name args { name } type { name kind } } } }"
    )
    query = FULL_INTROSPECTION_QUERY.replace("__schema {", f"{extra}\n__schema {{", 1)
    assert BUDGET < price(MODEL, query).cost <= INTROSPECTION_BUDGET
    result = await execute(query)
    assert result.errors is None
    assert result.data["fieldTypes"]["types"]


async def test_a_fragment_fan_out_inside_introspection_is_still_refused() -> None:
    query = fan_out_over_types(20)
    assert len(query) < 2_000
    result = await execute(query)
    (error,) = result.errors
    assert error.extensions["code"] == "QUERY_TOO_COMPLEX"
    assert error.extensions["budget"] == INTROSPECTION_BUDGET
    assert error.extensions["cost"] == len(SCHEMA._schema.type_map) * 2**20 + 2


async def test_a_walk_down_the_type_graph_is_still_refused() -> None:
    nested = "name"
    for _ in range(3):
        nested = f"fields {{ type {{ {nested} }} }}"
    result = await execute(f"{{ __schema {{ types {{ {nested} }} }} }}")
    assert [e.extensions["code"] for e in result.errors] == ["QUERY_TOO_COMPLEX"]


async def test_introspection_with_data_fields_keeps_the_ordinary_budget() -> None:
    data = "roles { topSkills(limit: 100) { name } }"  # 1,237 points
    mixed = FULL_INTROSPECTION_QUERY.replace("__schema {", f"{data}\n__schema {{", 1)
    priced = price(MODEL, mixed)
    assert not priced.introspection
    assert BUDGET < priced.cost <= INTROSPECTION_BUDGET
    result = await execute(mixed)
    (error,) = result.errors
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "cost": priced.cost, "budget": BUDGET}
    # Through a fragment at the root too; and `__typename` alone is no introspection.
    spread = "{ ...Q } fragment Q on Query { __schema { queryType { name } } market { open } }"
    assert not price(MODEL, spread).introspection
    assert price(
        MODEL, "{ ...Q } fragment Q on Query { __schema { queryType { name } } }"
    ).introspection
    assert not price(MODEL, "{ __typename }").introspection


async def test_introspection_is_charged_at_most_the_budget() -> None:
    # A bucket that holds exactly the budget still admits an introspection query dearer than
    # it: the charge is capped at the budget (services/ratelimit.py `max_charge`).
    settings = ApiSettings(rate_limit=True, max_query_cost=1_000, rate_limit_bucket=1_000)
    app = create_app(FakeReadModel(), TAXONOMY, settings)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.9", 5555))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post("/graphql", json={"query": graphiql_introspection_query()})
    body = response.json()
    assert "errors" not in body
    cost = body["extensions"]["cost"]
    assert cost["requested"] > 1_000
    assert cost["budget"] == MODEL.introspection_budget(1_000)
    assert cost["throttleStatus"]["currentlyAvailable"] < 1.0  # 1,000 taken, the whole bucket
