"""The GraphQL schema over hand-built aggregate documents, through `schema.execute`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import strawberry

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_memo import MemoReadModel, ReadMemo
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

SLUGS = (
    "ai-software-engineer", "ai-ml-engineer", "llm-engineer", "ai-agent-developer",
    "prompt-engineer", "mlops-engineer", "research-engineer", "research-scientist",
    "data-scientist", "ai-product-manager", "nlp-engineer", "computer-vision-engineer",
)  # fmt: skip
NAMES = {"ai-software-engineer": "AI Software Engineer", "ai-product-manager": "AI Product Manager"}
TAXONOMY = {
    slug: RoleInfo(slug, NAMES.get(slug, slug.title()), f"{slug} focus", ("Senior", "Staff"))
    for slug in SLUGS
}

# Four disclosed ranges: 100-200K, 140-240K, 160-260K, 200-300K (midpoints 150/190/210/250K).
SWE: RoleAggregateDoc = {
    "_id": "ai-software-engineer",
    "open": 10,
    "work_mode": {"remote": 2, "hybrid": 2, "onsite": 6},
    "seniority": {"entry": 1, "mid": 3, "senior": 4, "lead": 1, "executive": 1},
    "skills": {
        "RAG": 9,
        "Python": 8,
        "Rust": 5,
        "Kubernetes": 4,
        "AWS": 4,
        "Docker": 3,
        "Claude": 2,
        "OpenAI": 2,
        "Node%2Ejs": 1,
    },
    "companies": {"Accenture": 4, "Google": 3, "Apple": 2, "GEICO": 1},
    "metros": {"San Francisco": 5, "New York": 3},
    "salary": {
        "n": 4,
        "sum_min": 600_000,
        "sum_max": 1_000_000,
        "sum_mid": 800_000,
        "hist_min": {"100000": 1, "140000": 1, "160000": 1, "200000": 1},
        "hist_max": {"200000": 1, "240000": 1, "260000": 1, "300000": 1},
        "hist_mid": {"150000": 1, "190000": 1, "210000": 1, "250000": 1},
    },
}
PM: RoleAggregateDoc = {
    "_id": "ai-product-manager",
    "open": 8,
    "work_mode": {"remote": 4, "onsite": 4},
    "seniority": {"mid": 6, "senior": 2},
    "skills": {
        "RAG": 5,
        "Rust": 4,
        "AWS": 3,
        "Python": 3,
        "Prompt Engineering": 2,
        "GCP": 2,
        "Salesforce": 1,
        "Azure": 1,
    },
    "companies": {"Amazon.com": 5, "Google": 3},
    "salary": {
        "n": 2,
        "sum_min": 280_000,
        "sum_max": 400_000,
        "sum_mid": 340_000,
        "hist_min": {"120000": 1, "160000": 1},
        "hist_max": {"180000": 1, "220000": 1},
        "hist_mid": {"150000": 1, "190000": 1},
    },
}
MARKET: MarketAggregateDoc = {
    "_id": "market",
    "seen": 200,
    "open_total": 150,
    "open_ai": 100,
    "roles": {"ai-software-engineer": 10, "ai-product-manager": 8},
}

# The contract query, verbatim: clients and external checks rely on its field names.
CONTRACT = (Path(__file__).parents[3] / "schema" / "contract_query.graphql").read_text()


class FakeReadModel:
    def __init__(
        self, roles: dict[str, RoleAggregateDoc], market: MarketAggregateDoc | None = None
    ) -> None:
        self.docs = roles
        self.market_doc: MarketAggregateDoc = market or {}
        self.role_reads: list[list[str]] = []
        self.market_reads = 0

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        self.role_reads.append(list(slugs))
        return {s: self.docs[s] for s in slugs if s in self.docs}

    async def market(self) -> MarketAggregateDoc:
        self.market_reads += 1
        return self.market_doc

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


@pytest.fixture
def schema() -> strawberry.Schema:
    return build_schema(ApiSettings(max_query_depth=8, max_aliases=3))


@pytest.fixture
def store() -> FakeReadModel:
    return FakeReadModel({"ai-software-engineer": SWE, "ai-product-manager": PM}, MARKET)


async def run(
    schema: strawberry.Schema,
    store: FakeReadModel,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    result = await schema.execute(
        query, variable_values=variables, context_value=build_context(store, TAXONOMY)
    )
    assert result.errors is None
    assert result.data is not None
    return result.data


async def test_contract_query(schema: strawberry.Schema, store: FakeReadModel) -> None:
    variables = {"a": "ai-software-engineer", "b": "ai-product-manager"}
    data = await run(schema, store, CONTRACT, variables)
    assert data["market"] == {"openPositions": 100}
    cmp = data["compareRoles"]
    assert cmp["premiumPct"] == pytest.approx(25.0)  # 250K / 200K - 1
    assert cmp["higherPaid"] == {"slug": "ai-software-engineer"}
    assert cmp["sharedSkills"] == ["RAG", "Python", "Rust", "AWS"]
    assert cmp["overlapPct"] == 50.0
    a = cmp["a"]
    assert a["slug"] == "ai-software-engineer"
    assert a["title"] == "AI Software Engineer"
    assert a["openPositions"] == 10
    assert a["shareOfMarketPct"] == pytest.approx(10.0)
    assert a["remotePct"] == pytest.approx(20.0)
    assert a["salary"] == {
        "n": 4,
        "avgMin": 150_000.0,
        "avgMax": 250_000.0,
        "p25": 230_000.0,
        "median": 250_000.0,
        "average": 250_000.0,
        "p75": 270_000.0,
    }
    assert a["experienceMix"] == {"entryPct": 10.0, "midPct": 30.0, "seniorPct": 60.0}
    assert [s["name"] for s in a["topSkills"]] == [
        "RAG", "Python", "Rust", "AWS", "Kubernetes", "Docker", "Claude", "OpenAI",
    ]  # fmt: skip
    assert a["topCompanies"] == [
        {"name": "Accenture", "count": 4},
        {"name": "Google", "count": 3},
        {"name": "Apple", "count": 2},
        {"name": "GEICO", "count": 1},
    ]
    b = cmp["b"]
    assert b["salary"]["average"] == 200_000.0
    assert b["salary"]["median"] == 200_000.0
    assert b["remotePct"] == 50.0
    assert b["topCompanies"] == [{"name": "Amazon.com", "count": 5}, {"name": "Google", "count": 3}]


async def test_contract_query_reads_each_document_once(
    schema: strawberry.Schema, store: FakeReadModel
) -> None:
    variables = {"a": "ai-software-engineer", "b": "ai-product-manager"}
    await run(schema, store, CONTRACT, variables)
    assert store.role_reads == [["ai-software-engineer", "ai-product-manager"]]
    assert store.market_reads == 1


async def test_comparison_extras(schema: strawberry.Schema, store: FakeReadModel) -> None:
    query = """{ compareRoles(a: "ai-product-manager", b: "ai-software-engineer") {
        basis premiumPct higherPaid { slug } uniqueToA uniqueToB jaccardPct salaryCeilingGap
        switching { sharedSkillCount overlapPct feasibility summary }
        verdict sampleWarning
    } }"""
    cmp = (await run(schema, store, query))["compareRoles"]
    assert cmp["basis"] == "MIDPOINT"
    assert cmp["premiumPct"] == pytest.approx((170_000 / 200_000 - 1) * 100)
    assert cmp["higherPaid"] == {"slug": "ai-software-engineer"}
    assert cmp["uniqueToA"] == ["GCP", "Prompt Engineering", "Azure", "Salesforce"]
    assert cmp["uniqueToB"] == ["Kubernetes", "Docker", "Claude", "OpenAI"]
    assert cmp["jaccardPct"] == pytest.approx(100 / 3)
    assert cmp["salaryCeilingGap"] == -50_000.0
    assert cmp["switching"]["sharedSkillCount"] == 4
    assert cmp["switching"]["feasibility"] == "MEDIUM"
    assert cmp["verdict"] == (
        "AI Software Engineer pays 18% more on average than AI Product Manager "
        "(basis: midpoint of range; n = 4 and 2)"
    )
    assert "n = 2" in cmp["sampleWarning"]


async def test_salary_basis_defaults(schema: strawberry.Schema, store: FakeReadModel) -> None:
    query = """{
      role(slug: "ai-software-engineer") {
        plain: salary { basis average } low: salary(basis: MIN) { basis average low high }
      }
      compareRoles(a: "ai-software-engineer", b: "ai-product-manager", salaryBasis: MIN) {
        a { salary { basis average } mid: salary(basis: MIDPOINT) { average } }
      }
    }"""
    data = await run(schema, store, query)
    role = data["role"]
    assert role["plain"] == {"basis": "MIDPOINT", "average": 200_000.0}
    assert role["low"] == {"basis": "MIN", "average": 150_000.0, "low": 100_000, "high": 200_000}
    assert data["compareRoles"]["a"]["salary"] == {"basis": "MIN", "average": 150_000.0}
    assert data["compareRoles"]["a"]["mid"] == {"average": 200_000.0}


async def test_salary_metadata(schema: strawberry.Schema, store: FakeReadModel) -> None:
    query = '{ role(slug: "ai-product-manager") { salary { currency period definition } } }'
    salary = (await run(schema, store, query))["role"]["salary"]
    assert salary["currency"] == "USD"
    assert salary["period"] == "year"
    assert "midpoint" in salary["definition"]
    assert "2 open postings" in salary["definition"]


async def test_roles_lists_whole_taxonomy(schema: strawberry.Schema, store: FakeReadModel) -> None:
    query = "{ roles { slug openPositions shareOfMarketPct remotePct salary { n average } } }"
    roles = (await run(schema, store, query))["roles"]
    assert [r["slug"] for r in roles] == list(SLUGS)
    empty = roles[1]
    assert empty == {
        "slug": "ai-ml-engineer",
        "openPositions": 0,
        "shareOfMarketPct": 0.0,
        "remotePct": None,
        "salary": {"n": 0, "average": None},
    }
    assert store.role_reads == [list(SLUGS)]  # one batched read for all twelve


async def test_role_details(schema: strawberry.Schema, store: FakeReadModel) -> None:
    query = """{ role(slug: "ai-software-engineer") {
        focus careerPath topMetros(limit: 5) { name count sharePct }
        topSkills(limit: 20) { name }
        workModes { remote hybrid onsite unknown remotePct onsitePct unknownPct }
        experienceMix { entry mid senior lead executive }
    } }"""
    role = (await run(schema, store, query))["role"]
    assert role["focus"] == "ai-software-engineer focus"
    assert role["careerPath"] == ["Senior", "Staff"]
    assert role["topMetros"] == [
        {"name": "San Francisco", "count": 5, "sharePct": 50.0},
        {"name": "New York", "count": 3, "sharePct": 30.0},
    ]
    assert role["topSkills"][-1] == {"name": "Node.js"}  # decoded from the stored key
    assert role["workModes"] == {
        "remote": 2, "hybrid": 2, "onsite": 6, "unknown": 0,
        "remotePct": 20.0, "onsitePct": 60.0, "unknownPct": 0.0,
    }  # fmt: skip
    assert role["experienceMix"] == {"entry": 1, "mid": 3, "senior": 4, "lead": 1, "executive": 1}


async def test_market(schema: strawberry.Schema, store: FakeReadModel) -> None:
    query = """{ market { openPositions openPostingsAllRoles postingsSeen
                 roles { slug openPositions shareOfMarketPct } } }"""
    market = (await run(schema, store, query))["market"]
    assert market["openPositions"] == 100
    assert market["openPostingsAllRoles"] == 150
    assert market["postingsSeen"] == 200
    assert market["roles"][0] == {
        "slug": "ai-software-engineer",
        "openPositions": 10,
        "shareOfMarketPct": 10.0,
    }
    assert len(market["roles"]) == 12


async def test_empty_store_gives_nulls_not_errors(schema: strawberry.Schema) -> None:
    empty = FakeReadModel({})
    query = """{ market { openPositions roles { shareOfMarketPct } }
      compareRoles(a: "llm-engineer", b: "nlp-engineer", salaryBasis: MAX) {
        premiumPct higherPaid { slug } overlapPct jaccardPct salaryCeilingGap verdict sampleWarning
        a { shareOfMarketPct remotePct experienceMix { seniorPct } topSkills { name } }
      } }"""
    data = await run(schema, empty, query)
    assert data["market"]["openPositions"] == 0
    assert data["market"]["roles"][0]["shareOfMarketPct"] is None
    cmp = data["compareRoles"]
    assert cmp["premiumPct"] is None
    assert cmp["higherPaid"] is None
    assert cmp["overlapPct"] == 0.0
    assert cmp["jaccardPct"] is None
    assert cmp["salaryCeilingGap"] is None
    assert cmp["verdict"].startswith("Not enough disclosed pay")
    assert cmp["sampleWarning"] is not None
    assert cmp["a"] == {
        "shareOfMarketPct": None,
        "remotePct": None,
        "experienceMix": {"seniorPct": None},
        "topSkills": [],
    }


class StillVersion:
    """A data version that never moves (services/read_memo.py keeps reads while it stands)."""

    current = 1

    def on_change(self, listener: Callable[[], Any]) -> Callable[[], None]:
        return lambda: None


async def test_kept_reads_answer_exactly_what_fresh_ones_do(
    schema: strawberry.Schema, store: FakeReadModel
) -> None:
    variables = {"a": "ai-software-engineer", "b": "ai-product-manager"}
    fresh = await run(schema, store, CONTRACT, variables)
    kept = MemoReadModel(store, ReadMemo(StillVersion()))
    first = await run(schema, kept, CONTRACT, variables)  # type: ignore[arg-type]
    again = await run(schema, kept, CONTRACT, variables)  # type: ignore[arg-type]
    assert first == again == fresh
    assert len(store.role_reads) == 2  # one for the fresh request, one for both kept ones
    assert store.market_reads == 2
