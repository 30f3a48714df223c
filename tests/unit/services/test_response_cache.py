from __future__ import annotations

import asyncio
import json

import httpx
from starlette.types import Message, Receive, Scope, Send

from rolepulse.services.data_version import DataVersion
from rolepulse.services.limits import CHECKED_BODY_SCOPE_KEY
from rolepulse.services.response_cache import ResponseCache


class CountingApp:
    """Answers every POST with its body echoed and a call count; errors when asked to."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        key = b"errors" if b"fail" in body else b"data"
        payload = json.dumps({key.decode(): {"echo": body.decode(), "n": self.calls}}).encode()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


async def no_version() -> int | None:
    return None


def client(app: CountingApp, version: DataVersion) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=ResponseCache(app, version))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_identical_posts_are_served_from_cache_until_the_version_moves() -> None:
    app, version = CountingApp(), DataVersion(no_version, 1)
    version.current = 7
    async with client(app, version) as c:
        first = await c.post("/graphql", content=b'{"query":"{a}"}')
        again = await c.post("/graphql", content=b'{"query":"{a}"}')
        other = await c.post("/graphql", content=b'{"query":"{b}"}')
        version.current = 8
        fresh = await c.post("/graphql", content=b'{"query":"{a}"}')
    assert first.json() == again.json() == {"data": {"echo": '{"query":"{a}"}', "n": 1}}
    assert again.headers["content-type"] == "application/json"
    assert other.json()["data"]["n"] == 2
    assert fresh.json()["data"]["n"] == 3
    assert app.calls == 3


async def test_errors_unknown_version_and_gets_are_never_cached() -> None:
    app, version = CountingApp(), DataVersion(no_version, 1)
    async with client(app, version) as c:
        await c.post("/graphql", content=b"x")
        await c.post("/graphql", content=b"x")  # version unknown: no caching at all
        version.current = 1
        await c.post("/graphql", content=b"fail")
        await c.post("/graphql", content=b"fail")  # an error response is not kept
        await c.get("/graphql")
        await c.get("/graphql")
    assert app.calls == 6


async def test_a_failing_version_read_disables_the_cache() -> None:
    async def broken() -> int | None:
        raise ConnectionError("mongo down")

    version = DataVersion(broken, interval_s=0.01)
    version.current = 3
    async with version.running():
        await asyncio.sleep(0.05)
        assert version.current is None


class SizedApp:
    """Answers a POST whose body is a decimal size with a response body of that many bytes,
    in 64 KB chunks."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        size = int((await receive())["body"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        chunks = [b"d" * min(64 * 1024, size - start) for start in range(0, size, 64 * 1024)]
        for i, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1}
            )


async def test_the_cache_is_bounded_in_bytes_evicting_the_least_recently_used() -> None:
    app, version = SizedApp(), DataVersion(no_version, 1)
    version.current = 1
    cache = ResponseCache(app, version, max_bytes=1_000_000)
    transport = httpx.ASGITransport(app=cache)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        for size in (100_000, 100_001, 100_002):
            await c.post("/graphql", content=str(size).encode())
        await c.post("/graphql", content=b"100000")  # a hit: now the most recently used
        assert app.calls == 3
        assert 300_000 < cache.bytes < 301_000
        for size in range(120_000, 120_007):  # 840 KB more than fits with the first three
            await c.post("/graphql", content=str(size).encode())
        assert cache.bytes <= 1_000_000
        app.calls = 0
        await c.post("/graphql", content=b"100000")  # kept: used recently
        await c.post("/graphql", content=b"100001")  # evicted: the least recently used
        assert app.calls == 1


async def test_a_response_above_an_eighth_of_the_budget_is_never_cached() -> None:
    app, version = SizedApp(), DataVersion(no_version, 1)
    version.current = 1
    cache = ResponseCache(app, version, max_bytes=1_000_000)
    transport = httpx.ASGITransport(app=cache)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        small = await c.post("/graphql", content=b"100000")
        first = await c.post("/graphql", content=b"200000")
        again = await c.post("/graphql", content=b"200000")
    assert len(first.content) == len(again.content) == 200_000  # answered in full, not kept
    assert len(small.content) == 100_000
    assert app.calls == 3
    assert cache.bytes < 125_000  # only the small one


async def test_a_zero_byte_budget_caches_nothing() -> None:
    app, version = SizedApp(), DataVersion(no_version, 1)
    version.current = 1
    transport = httpx.ASGITransport(app=ResponseCache(app, version, max_bytes=0))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        await c.post("/graphql", content=b"10")
        await c.post("/graphql", content=b"10")
    assert app.calls == 2


async def test_a_body_left_by_the_door_is_not_read_again() -> None:
    app, version = CountingApp(), DataVersion(no_version, 1)
    version.current = 1
    cache = ResponseCache(app, version)
    body = b'{"query":"{a}"}'
    sent: list[Message] = []
    reads = 0

    async def receive() -> Message:  # the door's replay: the body, once
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    for _ in range(2):
        scope = {"type": "http", "method": "POST", CHECKED_BODY_SCOPE_KEY: body}
        await cache(scope, receive, send)
    assert (app.calls, reads, cache.hits) == (1, 1, 1)  # only the app, on the miss, read it
    assert sent[1]["body"] == sent[3]["body"]
