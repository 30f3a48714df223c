"""GraphQL POSTs skip Starlette's router (services/direct_route.py), and lose nothing by it: the
security headers, CORS and the JSON 500 still wrap them; every other request takes the router."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services import app as app_module
from rolepulse.services.app import create_app
from rolepulse.services.direct_route import DirectRoute
from rolepulse.services.http_policy import API_CSP, SecurityHeaders
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

TAXONOMY = {"llm-engineer": RoleInfo("llm-engineer", "LLM Engineer", "LLM apps", ())}
ORIGIN = "https://app.example.com"


class FakeReadModel:
    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "open_ai": 12}

    async def ping(self) -> bool:
        return True


class Recorder:
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls.append(self.name)


@pytest.mark.parametrize(
    ("scope", "taken"),
    [
        ({"type": "http", "method": "POST", "path": "/graphql"}, "endpoint"),
        ({"type": "http", "method": "POST", "path": "/graphql", "root_path": ""}, "endpoint"),
        ({"type": "http", "method": "GET", "path": "/graphql"}, "router"),
        ({"type": "http", "method": "PUT", "path": "/graphql"}, "router"),
        ({"type": "http", "method": "POST", "path": "/graphql/"}, "router"),
        ({"type": "http", "method": "POST", "path": "/healthz"}, "router"),
        ({"type": "http", "method": "POST", "path": "/api/graphql", "root_path": "/api"}, "router"),
        ({"type": "websocket", "path": "/graphql"}, "router"),
        ({"type": "lifespan"}, "router"),
    ],
)
async def test_only_a_post_to_the_path_goes_straight_to_the_endpoint(
    scope: Scope, taken: str
) -> None:
    calls: list[str] = []
    route = DirectRoute(Recorder("router", calls), "/graphql", Recorder("endpoint", calls))

    async def receive() -> Message:
        raise AssertionError

    async def send(message: Message) -> None:
        raise AssertionError

    await route(scope, receive, send)
    assert calls == [taken]


def client(**settings: Any) -> httpx.AsyncClient:
    app = create_app(FakeReadModel(), TAXONOMY, ApiSettings(**settings))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_graphql_post_keeps_the_security_headers_and_cors() -> None:
    async with client(cors_origins=ORIGIN) as http:
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN}
        )
    assert response.json()["data"] == {"__typename": "Query"}
    assert response.headers["content-security-policy"] == API_CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_an_unexpected_error_on_the_direct_route_is_still_the_json_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("a bug outside the resolvers")

    monkeypatch.setattr(app_module.RolepulseGraphQL, "get_context", broken)
    async with client() as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 500
    assert response.json() == {"errors": [{"message": "Internal error"}]}
    assert response.headers["content-security-policy"] == API_CSP


async def test_a_graphql_post_under_a_root_path_takes_the_router() -> None:
    app = create_app(FakeReadModel(), TAXONOMY, ApiSettings())
    transport = httpx.ASGITransport(app=app, root_path="/api")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.post("/api/graphql", json={"query": "{ __typename }"})
    assert response.json()["data"] == {"__typename": "Query"}
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_security_headers_keep_one_the_app_set_in_any_case() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"X-Frame-Options", b"SAMEORIGIN"), (b"content-type", b"text/plain")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        raise AssertionError

    await SecurityHeaders(app)({"type": "http"}, receive, send)
    names = [name.lower() for name, _ in sent[0]["headers"]]
    assert names.count(b"x-frame-options") == 1
    assert dict(sent[0]["headers"])[b"X-Frame-Options"] == b"SAMEORIGIN"
    assert {b"content-security-policy", b"x-content-type-options", b"referrer-policy"} <= set(names)
