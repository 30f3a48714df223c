"""What the HTTP-level unit tests of the API share: the whole app over a read model without any
data, for tests of what wraps the GraphQL layer (routing, headers, switches, assets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

TAXONOMY = {"llm-engineer": RoleInfo("llm-engineer", "LLM Engineer", "LLM apps", ())}


class EmptyReadModel:
    """No role has postings; the market document alone answers (`{ market { openPositions } }`)."""

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "open_ai": 12}

    async def ping(self) -> bool:
        return True


@pytest.fixture
def empty_app() -> Callable[..., ASGIApp]:
    """`empty_app(**settings)`: the app with these ApiSettings over EmptyReadModel."""

    def make(**settings: Any) -> ASGIApp:
        return create_app(EmptyReadModel(), TAXONOMY, ApiSettings(**settings))

    return make


@pytest.fixture
def empty_client(empty_app: Callable[..., ASGIApp]) -> Callable[..., httpx.AsyncClient]:
    """`empty_client(**settings)`: an in-process HTTP client of `empty_app(**settings)`; an
    exception escaping the app is the response the server would send, not raised in the test."""

    def make(**settings: Any) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=empty_app(**settings), raise_app_exceptions=False)
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    return make
