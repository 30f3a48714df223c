"""`skill(name)` and `skills(...)` (services/graphql/skills.py) through `schema.execute`, over
documents the consumer's own contribution math builds from a list of postings, against plain
recomputations from those postings."""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import pytest
import strawberry

from rolepulse.domain.aggregates import SKILL, TOTAL, add_increments, coalesce, contribution
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import (
    NormalizedPosting,
    NormalizedSalary,
    SalarySource,
    Seniority,
    WorkMode,
)
from rolepulse.domain.rollups import Counters
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

LLM, DS, PM = "llm-engineer", "data-scientist", "ai-product-manager"
TAXONOMY = {
    slug: RoleInfo(slug, title, "focus", ())
    for slug, title in ((LLM, "LLM Engineer"), (DS, "Data Scientist"), (PM, "AI PM"))
}
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def posting(
    i: int,
    role: str | None,
    skills: tuple[str, ...],
    pay: tuple[int, int] | None = None,
    source: SalarySource = "structured",
) -> PostingState:
    salary = None if pay is None else NormalizedSalary(*pay, "USD", "year", *pay, source)
    p = NormalizedPosting(
        posting_key=f"greenhouse:{i}",
        source="greenhouse",
        source_id=str(i),
        title="t",
        role=role,
        seniority=Seniority.SENIOR,
        skills=skills,
        company="Acme",
        metro=None,
        work_mode=WorkMode.REMOTE,
        salary=salary,
    )
    return PostingState(p.posting_key, p, True, T0, f"e{i}", T0)


SOURCES: tuple[SalarySource, ...] = ("structured", "text")
# LLM: 12 postings, 8 mention Python (6 with pay); DS: 5, 5 with Python (4 with pay); PM: no
# Python; Node.js (a name stored escaped) in LLM only. One non-AI posting mentions Python.
POSTINGS = [
    *(
        posting(i, LLM, ("Python", "RAG"), (100_000 + 10_000 * i, 200_000 + 10_000 * i), source)
        for i, source in enumerate(SOURCES * 3)
    ),
    posting(6, LLM, ("Python",)),
    posting(7, LLM, ("Python", "Node.js")),
    *(posting(8 + i, LLM, ("RAG",), (90_000 + 5_000 * i, 150_000)) for i in range(3)),
    posting(11, LLM, ()),
    *(posting(20 + i, DS, ("Python", "SQL"), (120_000, 140_000 + 20_000 * i)) for i in range(4)),
    posting(24, DS, ("Python",)),
    posting(30, PM, ("SQL",), (150_000, 250_000)),
    posting(40, None, ("Python",)),
]


class FakeStore:
    """The read model over documents built by `contribution`, as the consumer builds them."""

    def __init__(self, states: Sequence[PostingState]) -> None:
        deltas = coalesce(contribution(s) for s in states)
        self.docs = {ref: add_increments({}, inc) for ref, inc in deltas.items()}
        self.skill_reads: list[tuple[str, str]] = []

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        found = {s: self.docs.get(("role", s)) for s in slugs}
        return {s: cast(RoleAggregateDoc, d) for s, d in found.items() if d is not None}

    async def market(self) -> MarketAggregateDoc:
        return cast(MarketAggregateDoc, self.docs.get(("market", "market"), {}))

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True

    async def role_totals(self, slugs: Sequence[str]) -> dict[str, Counters]:
        return {s: self.docs[(TOTAL, s)] for s in slugs if (TOTAL, s) in self.docs}

    async def role_cells(self, slug: str, metros: Sequence[str | None] | None) -> list[Counters]:
        return []

    async def role_skill(self, slug: str, skill: str) -> Counters:
        self.skill_reads.append((slug, skill))
        return self.docs.get((SKILL, f"{slug}|{skill}"), {})

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        raise AssertionError("skills never read postings")

    async def stream_clock(self) -> datetime | None:
        return T0

    async def metro_names(self) -> frozenset[str]:
        return frozenset()

    async def market_counts(
        self, companies: Sequence[str], skills: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        return {}, {}


@pytest.fixture
def schema() -> strawberry.Schema:
    return build_schema(ApiSettings(), TAXONOMY)


async def run(
    schema: strawberry.Schema, query: str, store: FakeStore | None = None
) -> dict[str, Any]:
    store = store or FakeStore(POSTINGS)
    result = await schema.execute(query, context_value=build_context(store, TAXONOMY))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def error(schema: strawberry.Schema, query: str) -> dict[str, Any]:
    result = await schema.execute(query, context_value=build_context(FakeStore(POSTINGS), TAXONOMY))
    assert result.errors is not None
    (only,) = result.errors
    assert only.extensions is not None
    assert only.extensions["code"] == "BAD_USER_INPUT"
    return {"message": only.message, **only.extensions}


# ---- the oracle -----------------------------------------------------------------------------


def interpolate(values: list[int], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    return float(xs[lo]) if lo + 1 >= len(xs) else xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def side(states: Sequence[PostingState], basis: str) -> dict[str, Any]:
    """Salary fields of a pay side, recomputed from `states`."""
    pays = [s.posting.salary for s in states if s.posting and s.posting.salary]
    values = [
        {"min": p.annual_min_usd, "max": p.annual_max_usd}.get(
            basis, (p.annual_min_usd + p.annual_max_usd + 1) // 2
        )
        for p in pays
    ]
    return {
        "n": len(values),
        "median": interpolate(values, 0.5),
        "average": sum(values) / len(values) if values else None,
        "lowConfidence": len(values) < 10,
        "provenance": {src: sum(p.source == src for p in pays) for src in ("structured", "text")},
    }


def of_role(role: str, python: bool | None = None) -> list[PostingState]:
    return [
        s
        for s in POSTINGS
        if s.posting is not None
        and s.posting.role == role
        and (python is None or ("Python" in s.posting.skills) == python)
    ]


PAY = """withSkill { n median average lowConfidence provenance { structured text } }
         withoutSkill { n median average lowConfidence provenance { structured text } }
         premiumPct medianPremiumPct lowConfidence basis"""


# ---- skill(name) ----------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["Python", "python", " PYTHON "])
async def test_a_skill_by_name_or_slug_any_case(schema: strawberry.Schema, typed: str) -> None:
    query = f'{{ skill(name: "{typed}") {{ name slug openPositions shareOfMarketPct }} }}'
    skill = (await run(schema, query))["skill"]
    ai_jobs = [s for s in POSTINGS if s.posting and s.posting.role]
    python = [s for s in ai_jobs if s.posting and "Python" in s.posting.skills]
    assert skill == {
        "name": "Python",
        "slug": "python",
        "openPositions": len(python),  # 13: the non-AI posting is in no role
        "shareOfMarketPct": pytest.approx(len(python) / len(ai_jobs) * 100),
    }


async def test_per_role_demand_and_pay_with_against_without(schema: strawberry.Schema) -> None:
    query = f"""{{ skill(name: "python") {{ roles {{
        role {{ slug title }} openPositions demandSharePct
        pay {{ {PAY} }}
        max: pay(basis: MAX) {{ withSkill {{ median }} withoutSkill {{ median }} premiumPct }}
    }} }} }}"""
    roles = (await run(schema, query))["skill"]["roles"]
    # Only roles mentioning it (not PM), most postings first.
    assert [(r["role"], r["openPositions"]) for r in roles] == [
        ({"slug": LLM, "title": "LLM Engineer"}, 8),
        ({"slug": DS, "title": "Data Scientist"}, 5),
    ]
    for r in roles:
        slug = r["role"]["slug"]
        assert r["demandSharePct"] == pytest.approx(8 / 12 * 100 if slug == LLM else 100.0)
        with_, without = side(of_role(slug, True), "mid"), side(of_role(slug, False), "mid")
        pay = r["pay"]
        assert pay["withSkill"] == with_
        assert pay["withoutSkill"] == without
        assert pay["basis"] == "MIDPOINT"
        assert pay["lowConfidence"] is True  # n of 6 and 3: too few on either side
        if without["n"]:
            assert pay["premiumPct"] == pytest.approx(
                (with_["average"] / without["average"] - 1) * 100
            )
            assert pay["medianPremiumPct"] == pytest.approx(
                (with_["median"] / without["median"] - 1) * 100
            )
            by_max = (side(of_role(slug, True), "max"), side(of_role(slug, False), "max"))
            assert r["max"]["withSkill"]["median"] == by_max[0]["median"]
            assert r["max"]["withoutSkill"]["median"] == by_max[1]["median"]
        else:  # every DS posting mentions Python: nothing to compare with
            assert (pay["premiumPct"], pay["medianPremiumPct"]) == (None, None)
            assert pay["withoutSkill"]["n"] == 0


async def test_one_rollup_read_per_role_however_many_pay_fields(schema: strawberry.Schema) -> None:
    store = FakeStore(POSTINGS)
    query = """{ skill(name: "Python") { roles { a: pay { premiumPct } b: pay(basis: MAX) {
        withSkill { n } } } } }"""
    await run(schema, query, store)
    assert sorted(store.skill_reads) == [(DS, "Python"), (LLM, "Python")]


async def test_a_skill_nobody_asks_for_and_an_escaped_name(schema: strawberry.Schema) -> None:
    query = """{ rust: skill(name: "rust") { openPositions roles { openPositions } }
                 node: skill(name: "node-js") { name openPositions roles { role { slug } } } }"""
    data = await run(schema, query)
    assert data["rust"] == {"openPositions": 0, "roles": []}
    assert data["node"] == {
        "name": "Node.js",
        "openPositions": 1,
        "roles": [{"role": {"slug": LLM}}],
    }


async def test_an_unknown_skill_lists_the_closest_valid_names(schema: strawberry.Schema) -> None:
    err = await error(schema, '{ skill(name: "Pyhton") { name } }')
    assert err["argument"] == "name"
    assert err["validNames"][0] == "Python"
    assert 0 < len(err["validNames"]) <= 20
    assert "Pyhton" in err["message"]
    long = await error(schema, '{ skill(name: "' + "x" * 500 + '") { name } }')
    assert len(long["message"]) < 1_000  # the input is echoed cut, never whole


# ---- skills(...) ----------------------------------------------------------------------------

PAGE = """query($first: Int!, $after: String, $role: String) {
  skills(first: $first, after: $after, role: $role) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor openPositions sharePct node { name openPositions } } } }"""


async def pages(schema: strawberry.Schema, role: str | None, first: int) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = []
    after = None
    while True:
        variables = {"first": first, "after": after, "role": role}
        store = FakeStore(POSTINGS)
        result = await schema.execute(
            PAGE, variable_values=variables, context_value=build_context(store, TAXONOMY)
        )
        assert result.errors is None, result.errors
        assert result.data is not None
        page = result.data["skills"]
        edges += page["edges"]
        assert len(page["edges"]) <= first
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(edges)
            return edges
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        after = page["pageInfo"]["endCursor"]


async def test_skills_ranked_over_the_market_page_by_page(schema: strawberry.Schema) -> None:
    counts = Counter(
        skill for s in POSTINGS if s.posting and s.posting.role for skill in s.posting.skills
    )
    ai_jobs = sum(1 for s in POSTINGS if s.posting and s.posting.role)
    edges = await pages(schema, None, 2)
    want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(e["node"]["name"], e["openPositions"]) for e in edges] == want
    assert [e["node"]["openPositions"] for e in edges] == [c for _, c in want]
    assert edges[0]["sharePct"] == pytest.approx(want[0][1] / ai_jobs * 100)


async def test_skills_of_one_role(schema: strawberry.Schema) -> None:
    edges = await pages(schema, DS, 1)
    # Ranked by the role's postings; each node is still the whole market's skill.
    assert [(e["node"]["name"], e["openPositions"], e["sharePct"]) for e in edges] == [
        ("Python", 5, 100.0),
        ("SQL", 4, 80.0),
    ]
    assert [e["node"]["openPositions"] for e in edges] == [13, 5]


async def test_a_page_after_the_last_is_empty(schema: strawberry.Schema) -> None:
    last = (await pages(schema, PM, 5))[-1]["cursor"]
    query = f'{{ skills(role: "{PM}", after: "{last}") {{ totalCount edges {{ cursor }} '
    query += "pageInfo { hasNextPage startCursor endCursor } } }"
    page = (await run(schema, query))["skills"]
    assert page == {
        "totalCount": 1,
        "edges": [],
        "pageInfo": {"hasNextPage": False, "startCursor": None, "endCursor": None},
    }


def after(**body: object) -> str:
    """An `after` argument holding a cursor-shaped, base64url JSON `body`."""
    return f'after: "{base64.urlsafe_b64encode(json.dumps(body).encode()).decode()}"'


@pytest.mark.parametrize(
    ("arguments", "argument"),
    [
        ("first: 0", "first"),
        ("first: 101", "first"),
        ('after: "not a cursor"', "after"),
        (after(k="metros", c=3, n="Austin"), "after"),  # another connection's cursor
        (after(k="skills", c="3", n="Python"), "after"),  # a count that is no count
    ],
)
async def test_bad_page_arguments(schema: strawberry.Schema, arguments: str, argument: str) -> None:
    err = await error(schema, f"{{ skills({arguments}) {{ totalCount }} }}")
    assert err["argument"] == argument


async def test_an_unknown_role_is_the_usual_error(schema: strawberry.Schema) -> None:
    err = await error(schema, '{ skills(role: "nope") { totalCount } }')
    assert err["slug"] == "nope"
    assert LLM in err["validSlugs"]
