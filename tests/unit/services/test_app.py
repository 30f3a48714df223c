"""HTTP wiring of the Starlette app over a fake read model (no MongoDB)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services import app as app_module
from rolepulse.services.app import create_app
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

TAXONOMY = {"llm-engineer": RoleInfo("llm-engineer", "LLM Engineer", "LLM apps", ("Staff",))}


class FakeReadModel:
    def __init__(self, healthy: bool = True, hang: bool = False) -> None:
        self.healthy = healthy
        self.hang = hang

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {"llm-engineer": {"_id": "llm-engineer", "open": 3}}

    async def market(self) -> MarketAggregateDoc:
        if not self.healthy:
            raise ConnectionError("mongo is down")
        return {"_id": "market", "open_ai": 12}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        if self.hang:
            await asyncio.sleep(60)
        return self.healthy


def client(read_model: FakeReadModel) -> httpx.AsyncClient:
    app = create_app(read_model, TAXONOMY, ApiSettings())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_graphql_post() -> None:
    query = (
        '{ market { openPositions } role(slug: "llm-engineer") { openPositions shareOfMarketPct } }'
    )
    async with client(FakeReadModel()) as http:
        response = await http.post("/graphql", json={"query": query})
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "market": {"openPositions": 12},
            "role": {"openPositions": 3, "shareOfMarketPct": 25.0},
        },
        # Priced before it ran: 5 fields (services/graphql/cost.py).
        "extensions": {"cost": {"requested": 5, "budget": ApiSettings().max_query_cost}},
    }


async def test_store_failure_is_a_masked_graphql_error_not_a_500() -> None:
    async with client(FakeReadModel(healthy=False)) as http:
        response = await http.post("/graphql", json={"query": "{ market { openPositions } }"})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "Internal error; it has been logged."


async def test_unknown_slug_is_http_200_with_errors() -> None:
    async with client(FakeReadModel()) as http:
        response = await http.post("/graphql", json={"query": '{ role(slug: "x") { slug } }'})
    assert response.status_code == 200
    assert "Valid slugs: llm-engineer" in response.json()["errors"][0]["message"]


async def test_graphiql_page() -> None:
    async with client(FakeReadModel()) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.mark.parametrize(("healthy", "status"), [(True, 200), (False, 503)])
async def test_healthz(healthy: bool, status: int) -> None:
    async with client(FakeReadModel(healthy=healthy)) as http:
        response = await http.get("/healthz")
    assert response.status_code == status
    assert response.json()["mongo"] == ("ok" if healthy else "down")


async def test_healthz_does_not_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "HEALTH_TIMEOUT_S", 0.05)
    async with client(FakeReadModel(hang=True)) as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
