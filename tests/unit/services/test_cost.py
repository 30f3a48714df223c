"""Static query cost (services/graphql/cost.py): each rule, the budget's sizing, HTTP."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLError,
    GraphQLObjectType,
    get_introspection_query,
    get_nullable_type,
    is_list_type,
    parse,
)
from strawberry.extensions import SchemaExtension

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.graphql import cost as cost_module
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.cost import (
    DEFAULT_LIST_SIZE,
    REPORTED_MAX,
    CostCache,
    CostModel,
    QueryCost,
    analyze,
    rolepulse_cost_model,
)
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

ROOT = Path(__file__).resolve().parents[3]
CONTRACT_QUERY = (ROOT / "schema" / "contract_query.graphql").read_text()
CONTRACT_VARIABLES = {"a": "ai-software-engineer", "b": "ai-product-manager"}

SLUGS = ("ai-software-engineer", "ai-product-manager", *(f"role-{i}" for i in range(10)))
# 12 roles, the longest career path 4 long: the fixed sizes of `roles` and `careerPath`.
TAXONOMY = {
    slug: RoleInfo(slug, slug.title(), "focus", ("A", "B", "C", "D")[: 1 + i % 4])
    for i, slug in enumerate(SLUGS)
}
SETTINGS = ApiSettings()
SCHEMA = build_schema(SETTINGS, TAXONOMY)
MODEL = rolepulse_cost_model(SCHEMA._schema, TAXONOMY)


def price(
    query: str, variables: dict[str, Any] | None = None, name: str | None = None
) -> QueryCost:
    return analyze(MODEL, parse(query), variables, name)


def fan_out(levels: int, spreads: int = 2, leaf: str = "__typename") -> str:
    """`{ ...F0 }` where each fragment spreads the next `spreads` times (the issue's attack)."""
    each = " ".join(["...F{}"] * spreads)
    chain = "\n".join(
        f"fragment F{i} on Query {{ {each.format(*[i + 1] * spreads)} }}" for i in range(levels)
    )
    return f"{{ ...F0 }}\n{chain}\nfragment F{levels} on Query {{ {leaf} }}"


# --- the rules ---


def test_every_field_counts_one_objects_and_scalars_alike() -> None:
    assert price("{ market { openPositions postingsSeen } }") == QueryCost(3, 3)


def test_typename_counts_one() -> None:
    assert price("{ __typename market { __typename } }") == QueryCost(3, 3)


def test_a_list_multiplies_its_selection_by_its_size_argument() -> None:
    # role 1 + topSkills (1 + 5 elements x 2 fields); nodes count the fields selected: 4.
    query = '{ role(slug: "x") { topSkills(limit: 5) { name count } } }'
    assert price(query) == QueryCost(1 + 1 + 5 * 2, 4)


@pytest.mark.parametrize(
    ("field", "size"),
    [("topSkills", 8), ("topCompanies", 4), ("topMetros", 3), ("weeklyTrend", 12)],
)
def test_a_missing_size_argument_takes_the_schemas_default(field: str, size: int) -> None:
    selection = "week" if field == "weeklyTrend" else "name"
    assert price(f'{{ role(slug: "x") {{ {field} {{ {selection} }} }} }}').cost == 2 + size


@pytest.mark.parametrize(
    ("argument", "size"),
    [("limit: 1000000", 100), ("limit: 0", 0), ("limit: -5", 0), ('limit: "7"', 100)],
)
def test_size_arguments_are_clamped_to_what_the_resolver_accepts(argument: str, size: int) -> None:
    # A limit above 100 is refused by the resolver before any work, so it cannot cost more;
    # a value that is not an integer fails the request and is priced at the cap meanwhile.
    assert price(f'{{ role(slug: "x") {{ topSkills({argument}) {{ name }} }} }}').cost == 2 + size


def test_weeks_are_capped_at_104() -> None:
    assert price('{ role(slug: "x") { weeklyTrend(weeks: 500) { week } } }').cost == 2 + 104


def test_variables_come_from_the_request_then_the_variables_default_then_the_arguments() -> None:
    with_default = 'query($n: Int = 7) { role(slug: "x") { topSkills(limit: $n) { name } } }'
    without = 'query($n: Int) { role(slug: "x") { topSkills(limit: $n) { name } } }'
    assert price(with_default, {"n": 3}).cost == 2 + 3
    assert price(with_default).cost == 2 + 7
    assert price(without).cost == 2 + 8  # topSkills' own default
    assert price(without, {"n": "3"}).cost == 2 + 100  # not an integer: the cap
    assert price(without, {"n": True}).cost == 2 + 100


def test_lists_without_a_size_argument_count_their_documented_estimate() -> None:
    assert price("{ roles { slug } }").cost == 1 + len(TAXONOMY)
    assert price("{ market { roles { slug } } }").cost == 2 + len(TAXONOMY)
    assert price('{ role(slug: "x") { careerPath } }').cost == 1 + 1 + 4  # longest path
    compare = '{ compareRoles(a: "x", b: "y") { sharedSkills uniqueToA } }'
    assert price(compare).cost == 1 + 2 * (1 + 8)  # top-8 lists


def test_every_list_field_of_the_schema_has_a_size_argument_or_an_estimate() -> None:
    # A new list field must be priced on purpose, not by the DEFAULT_LIST_SIZE fallback.
    unsized = []
    for type_name, named in SCHEMA._schema.type_map.items():
        if type_name.startswith("__") or not isinstance(named, GraphQLObjectType):
            continue
        for field_name, definition in named.fields.items():
            if not is_list_type(get_nullable_type(definition.type)):
                continue
            sized = any(a in definition.args for a in ("limit", "first", "last", "weeks"))
            if not sized and f"{type_name}.{field_name}" not in MODEL.list_sizes:
                unsized.append(f"{type_name}.{field_name}")
    assert unsized == []
    assert DEFAULT_LIST_SIZE >= 100


def test_a_fragment_costs_the_same_as_its_fields_written_out() -> None:
    inline = '{ a: role(slug: "x") { slug title } b: role(slug: "y") { slug title } }'
    spread = (
        '{ a: role(slug: "x") { ...R } b: role(slug: "y") { ...R } } '
        "fragment R on Role { slug title }"
    )
    assert price(spread) == price(inline) == QueryCost(6, 6)


def test_inline_fragments_with_and_without_a_type_condition() -> None:
    query = (
        '{ role(slug: "x") { ... on Role { slug } ... { title } ... @skip(if: true) { focus } } }'
    )
    assert price(query) == QueryCost(4, 4)  # @skip/@include ignored: every field is counted


@pytest.fixture
def frames(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every selection set the analysis opens: its work counted, where timing it would fail
    on a loaded machine and prove nothing on a fast one."""
    opened: list[object] = []
    original = cost_module._Frame

    def counted(*args: Any, **kwargs: Any) -> object:
        frame = original(*args, **kwargs)
        opened.append(frame)
        return frame

    monkeypatch.setattr(cost_module, "_Frame", counted)
    return opened


def test_a_fragment_fan_out_costs_its_real_total_and_is_priced_at_once(
    frames: list[object],
) -> None:
    priced = price(fan_out(21))
    assert priced == QueryCost(2**21, 2**21)  # 2^21 copies of __typename, none expanded
    assert len(frames) == 1 + 22  # the operation, then each fragment once


def test_an_astronomical_fan_out_is_exact_and_priced_at_once(frames: list[object]) -> None:
    priced = price(fan_out(300, spreads=3))
    assert priced.cost == 3**300
    assert len(frames) == 1 + 301


def test_chains_deeper_than_the_recursion_limit_are_priced() -> None:
    # The walk is iterative: 5,000 chained fragments cannot exhaust Python's stack.
    assert price(fan_out(5_000, spreads=1)) == QueryCost(1, 1)


def test_fragment_cycles_and_unknown_names_do_not_break_the_analysis() -> None:
    cycle = "{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A }"
    assert price(cycle) == QueryCost(1, 1)  # validation reports the cycle afterwards
    assert price("{ ...Missing market { nope { deeper } } }") == QueryCost(3, 3)
    assert price("{ ... on Nope { x } }") == QueryCost(1, 1)


def test_the_operation_priced_is_the_one_named_else_the_costliest() -> None:
    query = "query Small { __typename } query Big { market { openPositions } }"
    assert price(query, name="Small").cost == 1
    assert price(query, name="Big").cost == 2
    assert price(query).cost == 2  # ambiguous: execution refuses it, priced at the worst
    assert price(query, name="Other").cost == 0


def test_introspection_lists_are_sized_from_the_schema() -> None:
    sizes = MODEL.list_sizes
    assert sizes["__Schema.types"] == len(SCHEMA._schema.type_map)
    assert sizes["__Schema.directives"] == len(SCHEMA._schema.directives)
    assert (
        1
        <= sizes["__Type.fields"]
        <= max(
            len(t.fields)
            for t in SCHEMA._schema.type_map.values()
            if isinstance(t, GraphQLObjectType)
        )
    )


def test_graphiqls_introspection_fits_and_a_deep_walk_of_the_type_graph_does_not() -> None:
    # Introspection alone is held to a budget sized by the schema (test_introspection_cost.py).
    budget = MODEL.introspection_budget(SETTINGS.max_query_cost)
    introspection = price(get_introspection_query(descriptions=True, specified_by_url=True))
    assert introspection.cost * 2 <= budget
    assert introspection.nodes < SETTINGS.max_query_nodes / 3
    nested = "name"
    for _ in range(5):
        nested = f"fields {{ type {{ {nested} }} }}"
    assert price(f"{{ __schema {{ types {{ {nested} }} }} }}").cost > 10 * budget


def test_introspection_is_priced_near_the_fields_it_returns() -> None:
    # Mean list lengths and `ofType` nesting as often as the schema's type references wrap:
    # the price follows the schema's size, not the widest type times the deepest wrapping.
    query = get_introspection_query(descriptions=True, specified_by_url=True)
    result = build_schema(ApiSettings(cost_analysis=False), TAXONOMY).execute_sync(query)
    assert result.errors is None

    def fields(value: object) -> int:
        if isinstance(value, dict):
            return sum(1 + fields(v) for v in value.values())
        return sum(fields(v) for v in value) if isinstance(value, list) else 0

    returned = fields(result.data)
    assert 0.9 * returned <= price(query).cost <= 1.1 * returned


def test_a_model_without_estimates_uses_the_default_list_size() -> None:
    bare = CostModel.build(SCHEMA._schema, size_caps={}, list_sizes={}, default_list_size=5)
    assert analyze(bare, parse("{ roles { slug } }")).cost == 1 + 5


def test_the_cache_prices_a_document_once_per_value_of_the_variables_it_depends_on() -> None:
    cache = CostCache(MODEL, maxsize=2)
    sized = parse("query($n: Int, $s: String) { role(slug: $s) { topSkills(limit: $n) { name } } }")
    assert cache.price(sized, {"n": 3, "s": "a"}, None).cost == 2 + 3
    assert cache.price(sized, {"n": 3, "s": "b"}, None).cost == 2 + 3  # $s costs nothing
    assert cache.price(sized, {"n": 5}, None).cost == 2 + 5
    assert cache.price(sized, {"n": True}, None).cost == 2 + 100  # 1 == True, priced apart
    assert cache.price(sized, {"n": 1}, None).cost == 2 + 1
    assert cache.price(sized, {"n": [1]}, None).cost == 2 + 100  # unhashable: priced afresh
    assert cache.price(sized, None, None).cost == 2 + 8
    other, third = parse("{ __typename }"), parse("{ market { openPositions } }")
    assert cache.price(other, None, None).cost == 1
    assert cache.price(third, None, None).cost == 2  # maxsize 2: `sized` was evicted
    assert cache.price(sized, {"n": 4}, None).cost == 2 + 4


# --- the budget's sizing ---


def readme_queries() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    return re.findall(r"```graphql\n(.*?)```", readme, flags=re.DOTALL)


def test_the_contract_query_and_every_readme_query_are_far_below_the_limits() -> None:
    queries = [CONTRACT_QUERY, *readme_queries()]
    assert len(queries) >= 2
    for query in queries:
        priced = price(query, CONTRACT_VARIABLES)
        # A wide margin: at least 20 times under each limit.
        assert priced.cost * 20 <= SETTINGS.max_query_cost, query
        assert priced.nodes * 10 <= SETTINGS.max_query_nodes, query
    assert price(CONTRACT_QUERY, CONTRACT_VARIABLES) == QueryCost(104, 56)


FULL_ROLE = """slug title focus careerPath openPositions shareOfMarketPct remotePct
  weeklyTrend(weeks: 104) { week weekStart carriedForward openPositions remotePct
    salary { basis n p25 median p75 average } openPositionsChange medianChangePct
    experienceMix { entry mid senior lead executive entryPct midPct seniorPct } }
  salary { basis n avgMin avgMax p25 median average p75 low high currency period definition }
  experienceMix { entry mid senior lead executive entryPct midPct seniorPct }
  workModes { remote hybrid onsite unknown remotePct hybridPct onsitePct unknownPct }
  topSkills(limit: 100) { name count sharePct }
  topCompanies(limit: 100) { name count sharePct }
  topMetros(limit: 100) { name count sharePct }"""
# Every field of a comparison and of its three roles, with every list at its largest.
FULL_COMPARE = """compareRoles(a: "ai-software-engineer", b: "ai-product-manager") {
  basis premiumPct sharedSkills uniqueToA uniqueToB overlapPct jaccardPct salaryCeilingGap
  verdict sampleWarning switching { sharedSkillCount overlapPct feasibility summary }
  higherPaid { ...Full } a { ...Full } b { ...Full } }"""
FULL_FRAGMENT = f"fragment Full on Role {{ {FULL_ROLE} }}"
CONTRACT_COMPARE = (
    'compareRoles(a: "ai-software-engineer", b: "ai-product-manager", salaryBasis: MAX) '
    "{ premiumPct higherPaid { slug } sharedSkills overlapPct a { ...R } b { ...R } }"
)


def thirty_aliases(selection: str, fragments: str = "") -> str:
    return "{ " + " ".join(f"c{i}: {selection}" for i in range(30)) + " }\n" + fragments


def test_thirty_aliases_of_compare_roles_are_refused() -> None:
    # The issue's case: 30 comparisons in one request (allowed by the alias limit of 30).
    # One alone is over the budget already (10,060 points: every list at its largest).
    assert price(f"{{ {FULL_COMPARE} }} {FULL_FRAGMENT}").cost > 2 * SETTINGS.max_query_cost
    heavy = price(thirty_aliases(FULL_COMPARE, FULL_FRAGMENT))
    contract_shaped = price(
        thirty_aliases(CONTRACT_COMPARE, CONTRACT_QUERY[CONTRACT_QUERY.index("fragment") :])
    )
    assert heavy.cost > 50 * SETTINGS.max_query_cost  # 301,710: QUERY_TOO_COMPLEX
    assert contract_shaped.cost < SETTINGS.max_query_cost  # 3,060 points, but
    assert contract_shaped.nodes > SETTINGS.max_query_nodes  # 1,620 fields: TOO_MANY_NODES
    # Fifteen contract-shaped comparisons fit both limits: split, it is ordinary work.
    fifteen = "{ " + " ".join(f"c{i}: {CONTRACT_COMPARE}" for i in range(15)) + " }\n"
    half = price(fifteen + CONTRACT_QUERY[CONTRACT_QUERY.index("fragment") :])
    assert half.cost < SETTINGS.max_query_cost
    assert half.nodes < SETTINGS.max_query_nodes


# --- the extension, through the schema and over HTTP ---


class FakeReadModel:
    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {s: {"_id": s, "open": 3, "skills": {"Python": 2}} for s in slugs}

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "open_ai": 12}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


async def execute(query: str, settings: ApiSettings = SETTINGS) -> Any:
    schema = build_schema(settings, TAXONOMY)
    return await schema.execute(query, context_value=build_context(FakeReadModel(), TAXONOMY))


async def test_every_result_carries_its_cost_and_the_budget() -> None:
    ok = await execute("{ market { openPositions } }")
    unknown_slug = await execute('{ role(slug: "nope") { slug } }')
    invalid = await execute("{ nope }")
    syntax = await execute("{ market { ")
    assert ok.errors is None
    assert ok.extensions == {"cost": {"requested": 2, "budget": SETTINGS.max_query_cost}}
    assert unknown_slug.extensions["cost"]["requested"] == 2
    assert invalid.extensions["cost"]["requested"] == 1
    assert syntax.extensions["cost"] == {"requested": 0, "budget": SETTINGS.max_query_cost}


async def test_over_the_budget_is_refused_before_validation() -> None:
    # Not valid (`nope` is no field): the refusal alone says validation never ran.
    result = await execute("{ nope " + "__typename " * 40 + " }", ApiSettings(max_query_cost=10))
    (error,) = result.errors
    assert error.extensions == {"code": "QUERY_TOO_COMPLEX", "cost": 41, "budget": 10}
    assert result.data is None
    assert result.extensions["cost"] == {"requested": 41, "budget": 10}


async def test_over_the_node_limit_is_refused_with_its_own_code() -> None:
    result = await execute("{" + " __typename" * 30 + " }", ApiSettings(max_query_nodes=20))
    (error,) = result.errors
    assert error.extensions == {"code": "TOO_MANY_NODES", "nodes": 30, "maxNodes": 20}
    assert "at most 20" in error.message


async def test_reported_costs_stay_printable_json_numbers() -> None:
    result = await execute(fan_out(2_000, spreads=3))
    assert result.extensions["cost"]["requested"] == REPORTED_MAX
    assert result.errors[0].extensions["code"] == "QUERY_TOO_COMPLEX"


async def test_cost_analysis_off_adds_nothing() -> None:
    result = await execute("{ market { openPositions } }", ApiSettings(cost_analysis=False))
    assert result.extensions == {}


async def test_a_refused_query_is_not_validated_even_when_the_validation_cache_is_warm() -> None:
    # The same text within the budget first (validated and cached), then over a smaller one.
    query = "{ market { openPositions } }"
    assert (await execute(query)).errors is None
    refused = await execute(query, ApiSettings(max_query_cost=1))
    assert [e.extensions["code"] for e in refused.errors] == ["QUERY_TOO_COMPLEX"]


class EarlierRefusal(SchemaExtension):
    def on_validate(self) -> Iterator[None]:
        self.execution_context.pre_execution_errors = [GraphQLError("refused earlier")]
        yield


async def test_a_query_refused_by_an_earlier_extension_is_neither_priced_nor_validated() -> None:
    schema = build_schema(SETTINGS, TAXONOMY)
    schema.extensions = (EarlierRefusal, *schema.extensions)
    result: Any = await schema.execute("{ nope }", context_value=None)
    assert [e.message for e in result.errors] == ["refused earlier"]  # no validation error
    assert result.extensions["cost"]["requested"] == 0


def http_client(settings: ApiSettings = SETTINGS) -> httpx.AsyncClient:
    app = create_app(FakeReadModel(), TAXONOMY, settings)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_http_responses_carry_extensions_cost() -> None:
    async with http_client() as http:
        ok = await http.post(
            "/graphql", json={"query": CONTRACT_QUERY, "variables": CONTRACT_VARIABLES}
        )
        bad = await http.post("/graphql", json={"query": '{ role(slug: "nope") { slug } }'})
        get = await http.get("/graphql", params={"query": "{ __typename }"})
    assert ok.json()["extensions"] == {"cost": {"requested": 104, "budget": 5_000}}
    assert "errors" not in ok.json()
    assert bad.json()["extensions"]["cost"]["requested"] == 2
    assert get.json()["extensions"]["cost"]["requested"] == 1


async def test_http_fan_out_is_refused_at_once() -> None:
    query = fan_out(21)
    assert len(query) < 1_000  # the issue's 893-byte request took 10.7 s
    async with http_client() as http:
        await http.post("/graphql", json={"query": "{ __typename }"})  # warm up the app
        started = time.perf_counter()
        response = await http.post("/graphql", json={"query": query})
        elapsed = time.perf_counter() - started
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert body["extensions"]["cost"] == {"requested": 2**21, "budget": 5_000}
    # The issue's request held the server 10.7 s; a refusal takes milliseconds. The bound is
    # loose so that a loaded CI machine cannot fail it, and still far below the stall.
    assert elapsed < 1.0


async def test_http_thirty_heavy_comparisons_are_refused_at_once() -> None:
    async with http_client() as http:
        await http.post("/graphql", json={"query": "{ __typename }"})
        started = time.perf_counter()
        query = thirty_aliases(FULL_COMPARE, FULL_FRAGMENT)
        response = await http.post("/graphql", json={"query": query})
        elapsed = time.perf_counter() - started
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["QUERY_TOO_COMPLEX"]
    assert elapsed < 1.0  # as above: milliseconds, bounded loosely


def test_a_filter_costs_what_reading_its_figures_may_cost() -> None:
    plain = price('{ role(slug: "x") { openPositions } }').cost
    cells = (
        '{ role(slug: "x", filter: {metros: ["Boston"], workModes: [REMOTE]}) { openPositions } }'
    )
    assert price(cells).cost == plain + 10
    postings = '{ role(slug: "x", filter: {companies: ["Acme"]}) { openPositions } }'
    assert price(postings).cost == plain + 1_000
    assert price('{ role(slug: "x", filter: {}) { openPositions } }').cost == plain
    # From variables too, and per role of a comparison.
    by_variable = 'query Q($f: PostingFilter) { role(slug: "x", filter: $f) { openPositions } }'
    assert price(by_variable, {"f": {"skills": ["Python"]}}).cost == plain + 1_000
    assert price(by_variable, {"f": None}).cost == plain
    assert price(by_variable).cost == plain
    compare = '{ compareRoles(a: "x", b: "y", filter: {seniorities: [MID]}) { premiumPct } }'
    assert price(compare).cost == price('{ compareRoles(a: "x", b: "y") { premiumPct } }').cost + 20
