"""The seed page, end to end: CLI-generated market -> `rolepulse produce` -> Kafka -> consumer
process -> MongoDB -> API process -> the contract query over HTTP.

The session's `seed_market` fixture (tests/e2e/conftest.py) runs that whole path once; this test
asserts the published page's figures on what it loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

# The contract query, verbatim: clients and external checks rely on its field names.
CONTRACT_QUERY = (Path(__file__).parents[2] / "schema" / "contract_query.graphql").read_text()

# The seed page's figures (the comparison page the project started from), to the dollar as
# generated.
SWE = {
    "open": 598,
    "salary": {"n": 518, "avgMin": 140_000, "avgMax": 249_000, "p25": 203_000,
               "median": 235_000, "average": 249_000, "p75": 300_000},
    "remote": 8,
    "mix": (2, 43, 55),
    "skills": ["RAG", "Python", "Rust", "Kubernetes", "AWS", "Docker", "Claude", "OpenAI"],
    "companies": [("Accenture", 112), ("Google", 74), ("Apple", 26), ("GEICO", 18)],
}  # fmt: skip
PM = {
    "open": 594,
    "salary": {"n": 475, "avgMin": 134_000, "avgMax": 194_000, "p25": 165_000,
               "median": 200_000, "average": 194_000, "p75": 243_000},
    "remote": 18,
    "mix": (2, 59, 39),
    "skills": ["RAG", "Rust", "AWS", "Python", "Prompt Engineering", "GCP", "Salesforce", "Azure"],
    "companies": [("Amazon", 79), ("Google", 21), ("Intuit", 16)],
}  # fmt: skip
MARKET_OPEN = 26_159
CROSS_POSTED = 400  # open jobs the generator also posts on a second board


class Api(Protocol):  # tests/e2e/conftest.py's ApiProcess (a conftest cannot be imported)
    @property
    def url(self) -> str: ...


class SeedMarket(Protocol):  # tests/e2e/conftest.py's SeedMarket
    @property
    def total_events(self) -> int: ...
    @property
    def produce_output(self) -> str: ...
    @property
    def api(self) -> Api: ...


def query(url: str, variables: dict[str, str], text: str = CONTRACT_QUERY) -> dict[str, Any]:
    r = httpx.post(f"{url}/graphql", json={"query": text, "variables": variables}, timeout=10)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body.get("errors") is None, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def test_seed_page_figures_through_kafka_mongo_and_graphql(seed_market: SeedMarket) -> None:
    # The fixture is the whole path: demo-market, produce, a consumer process, serve.
    assert f"published {seed_market.total_events} events" in seed_market.produce_output
    url = seed_market.api.url
    data = query(url, {"a": "ai-software-engineer", "b": "ai-product-manager"})

    assert data["market"]["openPositions"] == MARKET_OPEN
    cmp = data["compareRoles"]
    assert round(cmp["premiumPct"]) == 28
    assert cmp["higherPaid"]["slug"] == "ai-software-engineer"
    assert sorted(cmp["sharedSkills"]) == ["AWS", "Python", "RAG", "Rust"]
    assert cmp["overlapPct"] == pytest.approx(50.0)
    assert_role(cmp["a"], "ai-software-engineer", "AI Software Engineer", SWE)
    assert_role(cmp["b"], "ai-product-manager", "AI Product Manager", PM)
    extra = query(url, {}, "{ market { crossBoardDuplicates } }")
    assert extra["market"]["crossBoardDuplicates"] == CROSS_POSTED  # counted once, not twice


def assert_role(role: dict[str, Any], slug: str, title: str, want: dict[str, Any]) -> None:
    assert (role["slug"], role["title"]) == (slug, title)
    assert role["openPositions"] == want["open"]
    assert role["shareOfMarketPct"] == pytest.approx(want["open"] / MARKET_OPEN * 100)
    assert round(role["remotePct"]) == want["remote"]
    for field, value in want["salary"].items():
        assert role["salary"][field] == pytest.approx(value, abs=0.5), field
    mix = role["experienceMix"]
    assert (round(mix["entryPct"]), round(mix["midPct"]), round(mix["seniorPct"])) == want["mix"]
    assert [s["name"] for s in role["topSkills"]] == want["skills"]
    counts = [s["count"] for s in role["topSkills"]]
    assert counts == sorted(counts, reverse=True)
    companies = [(c["name"], c["count"]) for c in role["topCompanies"]]
    assert companies[: len(want["companies"])] == want["companies"]
