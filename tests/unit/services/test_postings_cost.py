"""The drill-down's price (services/graphql/cost.py): a connection's `edges` count `first`
elements, wherever `first` comes from, and a filter adds what its page and count may read."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import parse

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.graphql.cost import QueryCost, analyze, rolepulse_cost_model
from rolepulse.services.graphql.errors import LIMIT_MAX
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.postings_query import COUNT_FILTER_COST, PAGE_FILTER_COST
from rolepulse.settings import ApiSettings

TAXONOMY = {"ai-software-engineer": RoleInfo("ai-software-engineer", "AI SWE", "focus", ())}
SCHEMA = build_schema(ApiSettings(), TAXONOMY)
MODEL = rolepulse_cost_model(SCHEMA._schema, TAXONOMY)
NODE = "{ title company }"  # a node: 1 + 2 fields


def price(query: str, variables: dict[str, Any] | None = None) -> QueryCost:
    return analyze(MODEL, parse(query), variables)


def page(size: int, extra: int = 0) -> int:
    """postings (1) + edges (1 + size x (node 1 + 2)) + extra fields of the connection."""
    return 1 + 1 + size * 3 + extra


@pytest.mark.parametrize(
    ("query", "variables", "size"),
    [
        ("{ postings { edges { node " + NODE + " } } }", None, 20),  # the default
        ("{ postings(first: 5) { edges { node " + NODE + " } } }", None, 5),
        ("query($n: Int!) { postings(first: $n) { edges { node " + NODE + " } } }", {"n": 7}, 7),
        ("query($n: Int = 9) { postings(first: $n) { edges { node " + NODE + " } } }", None, 9),
        ("{ postings(first: 1000) { edges { node " + NODE + " } } }", None, LIMIT_MAX),
    ],
)
def test_edges_count_the_page_size(query: str, variables: dict[str, Any] | None, size: int) -> None:
    assert price(query, variables).cost == page(size)


def test_page_info_and_counts_cost_their_fields_once() -> None:
    query = (
        "{ postings(first: 3) { totalCount totalCountIsLowerBound "
        "pageInfo { hasNextPage endCursor } edges { cursor node { title } } } }"
    )
    # postings 1 + 2 counts + pageInfo 3 + edges (1 + 3 x (cursor 1 + node 2))
    assert price(query) == QueryCost(1 + 2 + 3 + 1 + 3 * 3, 10)


def test_a_fragment_on_the_connection_is_priced_per_page_size() -> None:
    fragment = "fragment C on PostingConnection { edges { node " + NODE + " } }"
    query = "{ a: postings(first: 2) { ...C } b: postings(first: 50) { ...C } } " + fragment
    assert price(query).cost == page(2) + page(50)
    inline = "{ postings(first: 4) { ... on PostingConnection { edges { node { title } } } } }"
    assert price(inline).cost == 1 + 1 + 4 * 2


def test_skills_count_their_limit() -> None:
    assert price("{ postings(first: 2) { edges { node { skills } } } }").cost == 1 + 1 + 2 * 22
    query = "{ postings(first: 2) { edges { node { skills(limit: 3) } } } }"
    assert price(query).cost == 1 + 1 + 2 * (1 + 4)


def test_a_filter_adds_what_its_page_and_its_count_may_read() -> None:
    base = price("{ postings(first: 1) { totalCount } }").cost
    cells = '{ postings(first: 1, filter: { metros: ["x"] }) { totalCount } }'
    assert price(cells).cost == base + PAGE_FILTER_COST
    companies = '{ postings(first: 1, filter: { companies: ["x"] }) { totalCount } }'
    assert price(companies).cost == base + PAGE_FILTER_COST + COUNT_FILTER_COST
    variable = "query($f: PostingFilter) { postings(first: 1, filter: $f) { totalCount } }"
    assert price(variable, {"f": {"skills": ["a", "b"]}}).cost == (
        base + PAGE_FILTER_COST + COUNT_FILTER_COST
    )
    assert price(variable, {"f": {}}).cost == base


def test_the_largest_page_fits_the_budget_and_twenty_of_them_do_not() -> None:
    full = (
        "postings(first: 100) { totalCount pageInfo { hasNextPage endCursor } edges { cursor "
        "node { id source title company metro workMode seniority role { slug title } "
        "skills(limit: 20) salary { min max currency period annualMinUsd annualMaxUsd source "
        "plausible } url postedAt firstSeen lastObserved ageDays open clusterSize } } }"
    )
    one = price("{ " + full + " }").cost
    assert one <= ApiSettings().max_query_cost
    many = " ".join(f"p{i}: {full}" for i in range(20))
    assert price("{ " + many + " }").cost > ApiSettings().max_query_cost
