"""The real app over HTTP, reading aggregates written to a real SecantusDB database.

Aggregates are written the way the consumer writes them (coalesced `$inc` of
`rolepulse.domain.aggregates.contribution`), so this also checks that the reader understands
the writer's document shapes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from rolepulse.domain.aggregates import coalesce, contribution
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import NormalizedPosting, NormalizedSalary, Seniority, WorkMode
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.main import build_app
from rolepulse.services.read_model import MARKET_AGGREGATES, ROLE_AGGREGATES
from rolepulse.settings import ApiSettings, MongoSettings

NOW = datetime(2025, 1, 6, tzinfo=UTC)
TAXONOMY = {
    "ai-software-engineer": RoleInfo(
        "ai-software-engineer", "AI Software Engineer", "Builds AI features", ("Senior", "Staff")
    ),
    "ai-product-manager": RoleInfo(
        "ai-product-manager", "AI Product Manager", "Owns AI products", ("Director", "VP")
    ),
}
QUERY = """query Compare($a: String!, $b: String!) {
  market { openPositions openPostingsAllRoles postingsSeen }
  compareRoles(a: $a, b: $b, salaryBasis: MAX) {
    premiumPct higherPaid { slug } sharedSkills overlapPct verdict
    a { openPositions shareOfMarketPct remotePct salary { n avgMin avgMax p25 median average p75 }
        topSkills(limit: 8) { name count } topCompanies(limit: 4) { name count } }
    b { openPositions salary { n average } }
  }
}"""


def state(
    key: str,
    role: str | None,
    pay: tuple[int, int] | None,
    skills: tuple[str, ...] = ("Python",),
    is_open: bool = True,
    mode: WorkMode = WorkMode.ONSITE,
) -> PostingState:
    salary = None
    if pay is not None:
        salary = NormalizedSalary(pay[0], pay[1], "USD", "year", pay[0], pay[1], "structured")
    posting = NormalizedPosting(
        posting_key=key,
        source="greenhouse",
        source_id=key,
        title="t",
        role=role,
        seniority=Seniority.SENIOR,
        skills=skills,
        company="Acme Inc.",
        metro="New York",
        work_mode=mode,
        salary=salary,
    )
    return PostingState(key, posting, is_open, NOW, f"e-{key}", NOW)


STATES = [
    state(
        "s1", "ai-software-engineer", (100_000, 200_000), ("RAG", "Python"), mode=WorkMode.REMOTE
    ),
    state("s2", "ai-software-engineer", (140_000, 240_000), ("RAG", "Node.js")),
    state("s3", "ai-software-engineer", (160_000, 260_000), ("Rust",)),
    state("s4", "ai-software-engineer", (200_000, 300_000)),
    state("p1", "ai-product-manager", (120_000, 180_000), ("RAG",)),
    state("p2", "ai-product-manager", (160_000, 220_000)),
    state("x1", None, (50_000, 60_000)),  # not an AI role: market totals only
    state("c1", "ai-software-engineer", (900_000, 900_000), is_open=False),  # closed: seen only
]


async def write_aggregates(mongo: MongoSettings) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri)
    try:
        db = client[mongo.database]
        for (kind, doc_id), inc in coalesce(contribution(s) for s in STATES).items():
            collection = ROLE_AGGREGATES if kind == "role" else MARKET_AGGREGATES
            await db[collection].update_one({"_id": doc_id}, {"$inc": inc}, upsert=True)
    finally:
        await client.close()


@pytest.fixture
async def http(mongo_settings: MongoSettings) -> AsyncIterator[httpx.AsyncClient]:
    await write_aggregates(mongo_settings)
    app = build_app(ApiSettings(), mongo_settings, TAXONOMY)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def test_contract_query_over_http(http: httpx.AsyncClient) -> None:
    variables = {"a": "ai-software-engineer", "b": "ai-product-manager"}
    response = await http.post("/graphql", json={"query": QUERY, "variables": variables})
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body
    data = body["data"]
    assert data["market"] == {"openPositions": 6, "openPostingsAllRoles": 7, "postingsSeen": 8}
    cmp = data["compareRoles"]
    assert cmp["premiumPct"] == pytest.approx(25.0)
    assert cmp["higherPaid"] == {"slug": "ai-software-engineer"}
    assert cmp["sharedSkills"] == ["Python", "RAG"]
    assert cmp["overlapPct"] == 25.0
    assert cmp["verdict"] == (
        "AI Software Engineer pays 25% more on average than AI Product Manager "
        "(basis: max of range; n = 4 and 2)"
    )
    a = cmp["a"]
    assert a["openPositions"] == 4
    assert a["shareOfMarketPct"] == pytest.approx(4 / 6 * 100)
    assert a["remotePct"] == 25.0
    assert a["salary"] == {
        "n": 4,
        "avgMin": 150_000.0,
        "avgMax": 250_000.0,
        "p25": 230_000.0,
        "median": 250_000.0,
        "average": 250_000.0,
        "p75": 270_000.0,
    }
    assert a["topSkills"] == [
        {"name": "Python", "count": 2},
        {"name": "RAG", "count": 2},
        {"name": "Node.js", "count": 1},
        {"name": "Rust", "count": 1},
    ]
    assert a["topCompanies"] == [{"name": "Acme Inc.", "count": 4}]
    assert cmp["b"] == {"openPositions": 2, "salary": {"n": 2, "average": 200_000.0}}


async def test_unknown_role_over_http(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": '{ role(slug: "x") { slug } }'})
    assert response.status_code == 200
    assert "Unknown role slug 'x'" in response.json()["errors"][0]["message"]


async def test_healthz_and_graphiql(http: httpx.AsyncClient) -> None:
    health = await http.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "mongo": "ok"}
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_healthz_503_when_mongo_is_unreachable(unused_tcp_port: int) -> None:
    mongo = MongoSettings(uri=f"mongodb://127.0.0.1:{unused_tcp_port}/?directConnection=true")
    app = build_app(ApiSettings(), mongo, TAXONOMY)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["mongo"] == "down"
