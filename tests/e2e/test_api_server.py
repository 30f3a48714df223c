"""`rolepulse serve` on the wire: graphql-transport-ws over a real uvicorn, and its headers.

What only a real server shows: uvicorn has a websocket implementation and routes the handshake
to strawberry (without one it answered the handshake with the GraphiQL page), the protocol's
connection_init timeout closes an idle socket with 4408, and no `server` header goes out.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any, Protocol

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin, Subprotocol

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
INIT_TIMEOUT_S = 1.0


class Api(Protocol):  # tests/e2e/conftest.py's ApiProcess (a conftest cannot be imported)
    url: str

    def log_text(self) -> str: ...


StartApi = Callable[..., Api]


@pytest.fixture
def api(start_api: StartApi) -> Api:
    return start_api(ROLEPULSE_API_WS_CONNECTION_INIT_TIMEOUT_S=str(INIT_TIMEOUT_S))


def ws_url(api: Api) -> str:
    return api.url.replace("http://", "ws://") + "/graphql"


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 5))
    return message


async def test_a_socket_without_connection_init_is_closed_with_4408(api: Api) -> None:
    async with connect(ws_url(api), subprotocols=[TRANSPORT_WS]) as ws:
        assert ws.subprotocol == TRANSPORT_WS
        started = time.monotonic()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), INIT_TIMEOUT_S + 5)
        waited = time.monotonic() - started
    assert ws.close_code == 4408
    assert ws.close_reason == "Connection initialisation timeout"
    assert INIT_TIMEOUT_S - 0.2 <= waited <= INIT_TIMEOUT_S + 1.5, waited


async def test_graphql_transport_ws_acks_pongs_and_sends_queries_to_http(api: Api) -> None:
    async with connect(ws_url(api), subprotocols=[TRANSPORT_WS]) as ws:
        await ws.send(json.dumps({"type": "connection_init"}))
        assert await receive(ws) == {"type": "connection_ack"}
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}
        # Queries go over HTTP, where the door limits, timeout and rate limit stand.
        query = {"query": "{ __typename }"}
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": query}))
        refused = await receive(ws)
        assert (refused["type"], refused["id"]) == ("error", "1")
        [error] = refused["payload"]
        assert error["extensions"]["code"] == "NOT_A_SUBSCRIPTION"
        assert "HTTP POST to /graphql" in error["message"]
        # The socket stays open for the next operation.
        await ws.send(json.dumps({"type": "ping"}))
        assert await receive(ws) == {"type": "pong"}


async def test_the_legacy_graphql_ws_protocol_is_refused(api: Api) -> None:
    async with connect(ws_url(api), subprotocols=[Subprotocol("graphql-ws")]) as ws:
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4406  # "Subprotocol not acceptable"


async def test_a_page_on_a_foreign_origin_cannot_open_a_socket(api: Api) -> None:
    # Browsers apply no CORS to websockets; the server checks the Origin of the handshake.
    evil = Origin("https://evil.example")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(ws_url(api), subprotocols=[TRANSPORT_WS], origin=evil):
            pass
    assert refused.value.response.status_code == 403


async def test_responses_carry_security_headers_and_no_server_header(api: Api) -> None:
    async with httpx.AsyncClient(base_url=api.url) as http:
        health = await http.get("/healthz")
        page = await http.get("/graphql", headers={"Accept": "text/html"})
    for response in (health, page):
        assert "server" not in response.headers, response.headers
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
