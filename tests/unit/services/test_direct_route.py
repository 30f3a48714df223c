"""GraphQL POSTs skip Starlette's router (services/direct_route.py), and lose nothing by it: the
security headers, CORS and the JSON 500 still wrap them; every other request takes the router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rolepulse.services import app as app_module
from rolepulse.services.direct_route import DirectRoute
from rolepulse.services.http_policy import API_CSP, SecurityHeaders

ORIGIN = "https://app.example.com"


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


async def test_a_graphql_post_keeps_the_security_headers_and_cors(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client(cors_origins=ORIGIN) as http:
        response = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN}
        )
    assert response.json()["data"] == {"__typename": "Query"}
    assert response.headers["content-security-policy"] == API_CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_an_unexpected_error_on_the_direct_route_is_still_the_json_500(
    monkeypatch: pytest.MonkeyPatch,
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("a bug outside the resolvers")

    monkeypatch.setattr(app_module.RolepulseGraphQL, "get_context", broken)
    async with empty_client() as http:
        response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 500
    assert response.json() == {"errors": [{"message": "Internal error"}]}
    assert response.headers["content-security-policy"] == API_CSP


async def test_a_graphql_post_under_a_root_path_takes_the_router(
    empty_app: Callable[..., ASGIApp],
) -> None:
    transport = httpx.ASGITransport(app=empty_app(), root_path="/api")
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
