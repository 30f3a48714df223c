"""`metros`, `metro`, `companies`, `company` (services/graphql/metros.py, companies.py,
ranking.py) through `schema.execute`, over a fake read model whose documents are the real
contributions of hand-built postings; and what they cost (services/graphql/cost.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from graphql import parse

from rolepulse.domain.aggregates import CELL, TOTAL, add_increments, coalesce, contribution
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import (
    NormalizedPosting,
    NormalizedSalary,
    Seniority,
    WorkMode,
)
from rolepulse.domain.rollups import Counters
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql import companies as companies_module
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.cost import analyze, rolepulse_cost_model
from rolepulse.services.graphql.ranking import decode_cursor, encode_cursor
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

NOW = datetime(2026, 11, 20, tzinfo=UTC)
LLM, DS, PM = "llm-engineer", "data-scientist", "ai-product-manager"
TAXONOMY = {slug: RoleInfo(slug, slug.title(), "focus", ()) for slug in (LLM, DS, PM)}
SCHEMA = build_schema(ApiSettings(), TAXONOMY)


def job(
    key: str,
    role: str | None,
    company: str,
    metro: str | None,
    *,
    mode: WorkMode = WorkMode.ONSITE,
    pay: int | None = None,
    skills: tuple[str, ...] = ("Python",),
) -> PostingState:
    salary = None
    if pay is not None:
        salary = NormalizedSalary(pay, pay + 20_000, "USD", "year", pay, pay + 20_000, "structured")
    posting = NormalizedPosting(
        posting_key=key,
        source="lever",
        source_id=key,
        title="x",
        role=role,
        seniority=Seniority.SENIOR,
        skills=skills,
        company=company,
        metro=metro,
        work_mode=mode,
        salary=salary,
    )
    seen = NOW - timedelta(days=2)
    return PostingState(key, posting, True, seen, f"e-{key}", seen, seen)


JOBS = [
    job("1", LLM, "Acme.io", "Boston", pay=100_000),
    job("2", LLM, "Acme.io", "Boston", mode=WorkMode.REMOTE, pay=140_000),
    job("3", LLM, "Globex", "New York", pay=200_000),
    job("4", DS, "Acme.io", "Boston", pay=120_000, skills=("SQL",)),
    job("5", DS, "Initech", None, mode=WorkMode.REMOTE),  # remote-only: in no metro
    job("6", PM, "Globex", "Boston", skills=("SQL", "Python")),
    job("7", None, "Acme.io", "Boston"),  # not an AI role: in no figure
]


class FakeStore:
    """A read model with rollups, whose documents sum `contribution` like the consumer's."""

    def __init__(self, states: Sequence[PostingState]) -> None:
        self.states = list(states)
        self.docs: dict[str, dict[str, Counters]] = {}
        for (kind, doc_id), increments in coalesce(contribution(s) for s in states).items():
            self.docs.setdefault(kind, {})[doc_id] = add_increments({}, increments)
        self.reads: list[str] = []

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        docs = self.docs["role"]
        return {s: cast(RoleAggregateDoc, docs[s]) for s in slugs if s in docs}

    async def market(self) -> MarketAggregateDoc:
        return cast(MarketAggregateDoc, self.docs["market"]["market"])

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True

    async def role_totals(self, slugs: Sequence[str]) -> dict[str, Counters]:
        self.reads.append("totals")
        return {s: self.docs[TOTAL][s] for s in slugs if s in self.docs[TOTAL]}

    async def role_cells(self, slug: str, metros: Sequence[str | None] | None) -> list[Counters]:
        self.reads.append(f"cells {slug} {metros}")
        cells = self.docs[CELL]
        if metros is None:
            return [c for key, c in cells.items() if key.partition("|")[0] == slug]
        return [cells[f"{slug}|{m or ''}"] for m in metros if f"{slug}|{m or ''}" in cells]

    async def role_skill(self, slug: str, skill: str) -> Counters:
        raise AssertionError("no entity reads a skill rollup")

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        self.reads.append(f"postings {[sorted(q) for q in queries]}")
        out = []
        for query in queries:
            for s in self.states:
                p = s.posting
                assert p is not None
                if "company" in query and p.company != query["company"]:
                    continue
                if "skills" in query and query["skills"] not in p.skills:
                    continue
                if "role" in query and p.role != query["role"]:
                    continue
                if s.first_seen_at >= query["first_seen_at"]["$gte"]:
                    out.append(s)
        return out[:limit]

    async def stream_clock(self) -> datetime | None:
        return NOW

    async def metro_names(self) -> frozenset[str]:
        return frozenset({"Boston", "New York"})

    async def market_counts(
        self, companies: Sequence[str], skills: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        totals: dict[str, dict[str, int]] = {"companies": {}, "skills": {}}
        for doc in self.docs["role"].values():
            for part, names in (("companies", companies), ("skills", skills)):
                for name in names:
                    count = doc.get(part, {}).get(name, 0)
                    totals[part][name] = totals[part].get(name, 0) + count
        return totals["companies"], totals["skills"]


async def run(query: str, store: FakeStore | None = None, **variables: Any) -> Any:
    store = store or FakeStore(JOBS)
    result = await SCHEMA.execute(
        query, variable_values=variables, context_value=build_context(store, TAXONOMY)
    )
    return result


async def data(query: str, store: FakeStore | None = None, **variables: Any) -> Any:
    result = await run(query, store, **variables)
    assert result.errors is None, result.errors
    return result.data


async def error(query: str, **variables: Any) -> dict[str, Any]:
    result = await run(query, **variables)
    assert result.errors, result.data
    extensions: dict[str, Any] = result.errors[0].extensions or {}
    assert extensions["code"] == "BAD_USER_INPUT", result.errors[0]
    return extensions | {"message": result.errors[0].message}


METROS = """query M($first: Int!, $after: String) { metros(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { name slug openPositions } } } }"""


async def test_metros_rank_the_role_documents_metro_counts_a_page_at_a_time() -> None:
    first = (await data(METROS, first=1))["metros"]
    assert first["totalCount"] == 2
    assert [e["node"] for e in first["edges"]] == [
        {"name": "Boston", "slug": "boston", "openPositions": 4}
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["hasPreviousPage"] is False
    assert first["pageInfo"]["startCursor"] == first["pageInfo"]["endCursor"]
    after = first["pageInfo"]["endCursor"]
    second = (await data(METROS, first=1, after=after))["metros"]
    assert [e["node"]["name"] for e in second["edges"]] == ["New York"]
    assert second["pageInfo"]["hasNextPage"] is False
    last = (await data(METROS, first=5, after=second["pageInfo"]["endCursor"]))["metros"]
    assert last["edges"] == []
    assert last["pageInfo"]["endCursor"] is None


METRO = """query M($name: String!) { metro(name: $name) {
  name slug openPositions shareOfMarketPct remotePct
  salary { n avgMin average median } topSkills { name count sharePct }
  topCompanies { name count } topPayingCompanies(minPostings: 1) { name n average }
  roles { slug openPositions salary { n } topCompanies { name count } } } }"""


async def test_a_metro_sums_its_cells_over_the_roles_and_lists_its_filtered_roles() -> None:
    store = FakeStore(JOBS)
    boston = (await data(METRO, store, name="BOSTON"))["metro"]
    # Jobs 1, 2, 4 and 6: 7 is no AI role, 5 is in no metro.
    assert boston["name"] == "Boston"
    assert boston["slug"] == "boston"
    assert boston["openPositions"] == 4
    assert boston["shareOfMarketPct"] == pytest.approx(4 / 6 * 100)
    assert boston["remotePct"] == 25.0
    assert boston["salary"] == {
        "n": 3,
        "avgMin": pytest.approx(120_000),
        "average": pytest.approx(130_000),
        "median": 130_000.0,
    }
    assert boston["topSkills"] == [
        {"name": "Python", "count": 3, "sharePct": 75.0},
        {"name": "SQL", "count": 2, "sharePct": 50.0},
    ]
    assert boston["topCompanies"] == [
        {"name": "Acme.io", "count": 3},
        {"name": "Globex", "count": 1},
    ]
    assert boston["topPayingCompanies"] == [{"name": "Acme.io", "n": 3, "average": 130_000.0}]
    # Most open postings first, ties by slug.
    assert boston["roles"] == [
        {
            "slug": LLM,
            "openPositions": 2,
            "salary": {"n": 2},
            "topCompanies": [{"name": "Acme.io", "count": 2}],
        },
        {
            "slug": PM,
            "openPositions": 1,
            "salary": {"n": 0},
            "topCompanies": [{"name": "Globex", "count": 1}],
        },
        {
            "slug": DS,
            "openPositions": 1,
            "salary": {"n": 1},
            "topCompanies": [{"name": "Acme.io", "count": 1}],
        },
    ]
    # One cell per role with postings there, read as a metro filter on that role reads it.
    assert sorted(r for r in store.reads if r.startswith("cells")) == [
        f"cells {slug} ['Boston']" for slug in sorted((LLM, DS, PM))
    ]


async def test_a_known_metro_without_postings_has_zero_figures() -> None:
    store = FakeStore(JOBS)
    seattle = (await data(METRO, store, name="seattle"))["metro"]
    assert seattle["openPositions"] == 0
    assert seattle["remotePct"] is None
    assert seattle["salary"]["n"] == 0
    assert seattle["roles"] == seattle["topCompanies"] == []
    assert not [r for r in store.reads if r.startswith("cells")]


async def test_an_unknown_metro_lists_the_closest_names_and_remote_is_a_work_mode() -> None:
    unknown = await error(METRO, name="Bostn")
    assert unknown["argument"] == "name"
    assert unknown["validNames"][0] == "Boston"
    assert unknown["unknown"] == ["Bostn"]
    remote = await error(METRO, name="REMOTE")
    assert remote["argument"] == "name"
    assert "work mode" in remote["message"]
    long = await error(METRO, name="x" * 201)
    assert long["argument"] == "name"
    assert len(long["message"]) < 300


COMPANY = """query C($name: String!) { company(name: $name) {
  name slug openPositions remotePct salary { n average } topSkills { name count }
  topMetros { name count } roles { slug openPositions topPayingCompanies(minPostings: 1) {
  name n } } } }"""


async def test_a_company_counts_from_role_documents_and_reads_its_postings_once() -> None:
    store = FakeStore(JOBS)
    acme = (await data(COMPANY, store, name="acme-io"))["company"]
    assert acme == {
        "name": "Acme.io",
        "slug": "acme-io",
        "openPositions": 3,
        "remotePct": pytest.approx(100 / 3),
        "salary": {"n": 3, "average": pytest.approx(130_000)},
        "topSkills": [{"name": "Python", "count": 2}, {"name": "SQL", "count": 1}],
        "topMetros": [{"name": "Boston", "count": 3}],
        "roles": [
            {
                "slug": LLM,
                "openPositions": 2,
                "topPayingCompanies": [{"name": "Acme.io", "n": 2}],
            },
            {"slug": DS, "openPositions": 1, "topPayingCompanies": [{"name": "Acme.io", "n": 1}]},
        ],
    }
    # One range of the company index for every field and role, no cell or total read.
    assert store.reads == ["postings [['company', 'first_seen_at', 'open']]"]


async def test_a_company_without_open_postings_is_zero_and_reads_nothing() -> None:
    store = FakeStore(JOBS)
    nobody = (await data(COMPANY, store, name="Hooli"))["company"]
    assert nobody["name"] == "Hooli"
    assert nobody["openPositions"] == 0
    assert nobody["salary"] == {"n": 0, "average": None}
    assert nobody["roles"] == nobody["topSkills"] == nobody["topMetros"] == []
    assert store.reads == []


async def test_a_company_over_the_read_limit_is_refused_but_still_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(companies_module, "MAX_POSTINGS_READ", 2)
    result = await run(COMPANY, name="Acme.io")
    assert result.errors[0].extensions["scanMax"] == 3
    assert result.errors[0].extensions["readMax"] == 2
    count = await data('{ company(name: "Acme.io") { openPositions } }')
    assert count["company"]["openPositions"] == 3


COMPANIES = """query C($first: Int!, $after: String, $filter: PostingFilter) {
  companies(first: $first, after: $after, filter: $filter) { totalCount
  pageInfo { hasNextPage endCursor }
  edges { node { name openPositions salary { basis n avgMin avgMax average } } } } }"""


TOTALS = ["totals"] * len(TAXONOMY)  # one per role (services/graphql/slicing.py `totals`)


@pytest.mark.parametrize(
    ("filter", "ranking", "reads"),
    [
        # The role documents rank; pay is the total rollups' (salary is selected).
        (None, [("Acme.io", 3), ("Globex", 2), ("Initech", 1)], TOTALS),
        ({}, [("Acme.io", 3), ("Globex", 2), ("Initech", 1)], TOTALS),
        (
            {"metros": ["boston"], "seniorities": ["SENIOR"]},
            [("Acme.io", 3), ("Globex", 1)],
            [f"cells {s} ['Boston']" for s in (LLM, DS, PM)],
        ),
        # One skill: its rollups hold no company maps; the postings, once, market-wide.
        ({"skills": ["sql"]}, [("Acme.io", 1), ("Globex", 1)], ["postings"]),
        ({"companies": ["GLOBEX"]}, [("Globex", 2)], ["postings"]),
        # The role index, one range per role, bounded by the totals' first-seen days.
        ({"postedWithinDays": 1}, [], [*TOTALS, "postings"]),
    ],
)
async def test_companies_rank_over_what_answers_the_filter(
    filter: dict[str, Any] | None, ranking: list[tuple[str, int]], reads: list[str]
) -> None:
    store = FakeStore(JOBS)
    page = (await data(COMPANIES, store, first=10, filter=filter))["companies"]
    assert [(e["node"]["name"], e["node"]["openPositions"]) for e in page["edges"]] == ranking
    assert page["totalCount"] == len(ranking)
    done = [r if r.startswith("cells") else r.partition(" ")[0] for r in store.reads]
    assert sorted(done) == sorted(reads)


async def test_a_ranked_companys_pay_is_over_the_same_postings() -> None:
    page = (await data(COMPANIES, first=2, filter={"metros": ["Boston"]}))["companies"]
    acme, globex = (e["node"]["salary"] for e in page["edges"])
    assert acme == {
        "basis": "MIDPOINT",
        "n": 3,
        "avgMin": pytest.approx(120_000),
        "avgMax": pytest.approx(140_000),
        "average": pytest.approx(130_000),
    }
    assert globex == {"basis": "MIDPOINT", "n": 0, "avgMin": None, "avgMax": None, "average": None}
    assert page["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("first", [0, -1, 101])
async def test_first_out_of_range_is_refused(first: int) -> None:
    for query in (METROS, COMPANIES):
        assert (await error(query, first=first))["argument"] == "first"


@pytest.mark.parametrize(
    "after",
    [
        "",
        "%%%",
        "bm90IGpzb24",  # "not json"
        encode_cursor("companies", 3, "Acme.io"),  # another connection's
        encode_cursor("metros", 3, "Boston")[:-2],  # truncated
        "eyJrIjoibWV0cm9zIiwiYyI6dHJ1ZSwibiI6IngifQ",  # {"k":"metros","c":true,"n":"x"}
        "WyJtZXRyb3MiLDEsIngiXQ",  # ["metros",1,"x"]
    ],
)
async def test_a_cursor_not_of_this_connection_is_refused_naming_after(after: str) -> None:
    refused = await error(METROS, first=5, after=after)
    assert refused["argument"] == "after"


def test_cursors_round_trip_any_name() -> None:
    for name in ("Boston", "Acme.io", "Zürich / 東京", ""):
        position = decode_cursor(encode_cursor("metros", 7, name), "metros")
        assert (position.count, position.name) == (7, name)


def test_the_new_fields_are_priced_by_what_they_read() -> None:
    model = rolepulse_cost_model(SCHEMA._schema, TAXONOMY)

    def cost(query: str) -> int:
        return analyze(model, parse(query)).cost

    roles = len(TAXONOMY)
    assert cost('{ metro(name: "x") { name } }') == 2 + roles * 10
    assert cost('{ metro(name: "x") { roles { slug } } }') == 1 + roles * 10 + 1 + roles
    assert cost('{ company(name: "x") { name } }') == 2 + 1_000
    assert cost('{ company(name: "x") { roles { slug } } }') == 1 + 1_000 + 1 + roles
    assert cost("{ metros { edges { node { name } } } }") == 1 + 1 + 20 * 2
    assert cost("{ companies(first: 100) { edges { node { name } } } }") == 1 + 1 + 100 * 2
    assert cost("{ companies(filter: {workModes: [REMOTE]}) { totalCount } }") == 2 + roles * 10
    assert cost('{ companies(filter: {companies: ["x"]}) { totalCount } }') == 2 + 1_000
