"""The production switches over the ASGI app: GraphiQL, introspection, CORS, security headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from rolepulse.services.http_policy import API_CSP
from rolepulse.settings import ApiSettings

INTROSPECTION = "{ __schema { queryType { name } } }"
ORIGIN = "https://app.example.com"


def preflight(origin: str = ORIGIN, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type, x-api-key",
    }


async def test_defaults_serve_graphiql_and_introspection(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client() as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        schema = await http.post("/graphql", json={"query": INTROSPECTION})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert schema.json()["data"] == {"__schema": {"queryType": {"name": "Query"}}}


@pytest.mark.parametrize(
    "settings", [{"graphiql": False}, {"introspection": False}], ids=["graphiql", "introspection"]
)
async def test_graphiql_off_is_a_json_404_and_serves_no_assets(
    settings: dict[str, Any], empty_client: Callable[..., httpx.AsyncClient]
) -> None:
    async with empty_client() as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
    [asset_url] = [line for line in page.text.split('"') if line.endswith("/graphiql.min.js")]
    async with empty_client(**settings) as http:
        off = await http.get("/graphql", headers={"Accept": "text/html"})
        asset = await http.get(f"/{asset_url}")
        query = await http.post("/graphql", json={"query": "{ market { openPositions } }"})
    assert off.status_code == 404
    assert off.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert asset.status_code == 404
    assert query.json()["data"] == {"market": {"openPositions": 12}}


async def test_introspection_off_refuses_schema_and_type_but_not_typename(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client(introspection=False) as http:
        schema = await http.post("/graphql", json={"query": INTROSPECTION})
        type_ = await http.post("/graphql", json={"query": '{ __type(name: "Query") { name } }'})
        typename = await http.post("/graphql", json={"query": "{ __typename }"})
    assert schema.json()["data"] is None
    assert "introspection has been disabled" in schema.json()["errors"][0]["message"]
    assert "introspection has been disabled" in type_.json()["errors"][0]["message"]
    assert typename.json()["data"] == {"__typename": "Query"}


def test_introspection_off_implies_graphiql_off() -> None:
    assert ApiSettings().graphiql_enabled
    assert not ApiSettings(introspection=False).graphiql_enabled
    assert not ApiSettings(graphiql=False).graphiql_enabled


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("POST", "/graphql", {"Content-Type": "application/json"}),
        ("GET", "/graphql", {"Accept": "text/html"}),
        ("GET", "/healthz", {}),
        ("GET", "/nowhere", {}),
        ("OPTIONS", "/graphql", preflight()),
    ],
)
async def test_security_headers_on_every_response(
    method: str, path: str, headers: dict[str, str], empty_client: Callable[..., httpx.AsyncClient]
) -> None:
    body = b'{"query": "{ __typename }"}' if method == "POST" else None
    async with empty_client() as http:
        response = await http.request(method, path, headers=headers, content=body)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    csp = response.headers["content-security-policy"]
    # The page has its own policy (test_graphiql_assets.py); everything else allows nothing.
    assert csp == API_CSP or "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert "server" not in response.headers


async def test_security_headers_can_be_switched_off(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client(security_headers=False) as http:
        response = await http.get("/healthz")
    assert "x-content-type-options" not in response.headers


async def test_cors_off_refuses_preflights_with_json_403(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client() as http:
        response = await http.options("/graphql", headers=preflight())
        # A cross-origin POST still runs (CORS is the browser's to enforce), but carries no
        # Access-Control-Allow-Origin, so the browser hides the answer from the page.
        simple = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN}
        )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "CORS_REFUSED"
    assert "access-control-allow-origin" not in response.headers
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_allows_listed_origins(empty_client: Callable[..., httpx.AsyncClient]) -> None:
    async with empty_client(cors_origins=f"{ORIGIN}, http://localhost:3000") as http:
        allowed = await http.options("/graphql", headers=preflight())
        post = await http.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Origin": ORIGIN}
        )
        other = await http.options("/graphql", headers=preflight("https://evil.example"))
        wrong_method = await http.options("/graphql", headers=preflight(method="DELETE"))
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert set(allowed.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
    assert "x-api-key" in allowed.headers["access-control-allow-headers"]
    assert int(allowed.headers["access-control-max-age"]) > 0
    assert post.headers["access-control-allow-origin"] == ORIGIN
    assert post.json()["data"] == {"__typename": "Query"}
    assert other.status_code == 403
    assert "origin" in other.json()["errors"][0]["message"]
    assert wrong_method.status_code == 403
    assert "method" in wrong_method.json()["errors"][0]["message"]


def test_cors_origins_are_normalized_like_the_origin_header() -> None:
    settings = ApiSettings(cors_origins="HTTPS://App.Example.com:443/,http://localhost:3000")
    assert settings.cors_origins == ["http://localhost:3000", "https://app.example.com"]
    assert ApiSettings(cors_origins="*").cors_origins == ["*"]
    assert ApiSettings(cors_origins="").cors_origins == []


@pytest.mark.parametrize(
    "origin", ["app.example.com", "https://app.example.com/path", "ftp://x", "https://x:99999"]
)
def test_a_cors_entry_that_is_not_an_origin_is_refused(origin: str) -> None:
    with pytest.raises(ValidationError, match="not an origin"):
        ApiSettings(cors_origins=origin)


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEPULSE_API_CORS_ORIGINS", "https://a.example.com,https://b.example.com")
    monkeypatch.setenv("ROLEPULSE_API_GRAPHIQL", "false")
    settings = ApiSettings()
    assert settings.cors_origins == ["https://a.example.com", "https://b.example.com"]
    assert not settings.graphiql_enabled
