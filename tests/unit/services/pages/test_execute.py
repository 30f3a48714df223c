"""Page queries in process: the request the API's chain receives, and its answers."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from rolepulse.services.pages.execute import InProcessGraphQL, PageQuery, QueryFailedError

QUERY = PageQuery("test", "query T($a: String!) { role(slug: $a) { title } }")


class Recorder:
    """An ASGI app standing in for the GraphQL chain: records the request, sends `answer`."""

    def __init__(self, status: int, answer: Any) -> None:
        self.status = status
        self.answer = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
        self.scope: Scope = {}
        self.body = b""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        message: Message = await receive()
        self.body = message["body"]
        assert not message["more_body"]
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.answer})


CALLER: Scope = {
    "type": "http",
    "client": ("203.0.113.7", 50123),
    "server": ("127.0.0.1", 8000),
    "scheme": "https",
    "headers": [(b"x-api-key", b"k1"), (b"cookie", b"secret"), (b"accept", b"text/html")],
}


async def test_a_page_query_is_a_json_post_from_the_pages_caller() -> None:
    app = Recorder(200, {"data": {"role": {"title": "LLM Engineer"}}})
    answer = await InProcessGraphQL(app).run(CALLER, QUERY, {"a": "llm-engineer"})
    assert answer.ok
    assert answer.data() == {"role": {"title": "LLM Engineer"}}
    scope = app.scope
    assert (scope["method"], scope["path"], scope["root_path"]) == ("POST", "/graphql", "")
    # The visitor's address and API key: the rate limiter charges the page to them.
    assert scope["client"] == ("203.0.113.7", 50123)
    headers = dict(scope["headers"])
    assert headers[b"x-api-key"] == b"k1"
    assert b"cookie" not in headers  # nothing else of the page request is handed on
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(app.body)
    assert json.loads(app.body) == {"query": QUERY.text, "variables": {"a": "llm-engineer"}}


async def test_the_body_is_the_same_bytes_each_time_so_the_response_cache_hits() -> None:
    first = InProcessGraphQL.body(QUERY, {"a": "x", "b": "y"})
    assert first == InProcessGraphQL.body(QUERY, {"a": "x", "b": "y"})


async def test_a_configured_key_header_is_handed_on() -> None:
    app = Recorder(200, {"data": {}})
    caller = {**CALLER, "headers": [(b"x-partner-key", b"k2")]}
    await InProcessGraphQL(app, key_header="X-Partner-Key").run(caller, QUERY, {})
    assert dict(app.scope["headers"])[b"x-partner-key"] == b"k2"


@pytest.mark.parametrize(
    ("status", "answer", "code"),
    [
        (200, {"data": None, "errors": [{"message": "slow", "extensions": {"code": "TIMEOUT"}}]},
         "TIMEOUT"),
        (200, {"errors": [{"message": "no", "extensions": {"code": "THROTTLED",
                                                          "retryAfterSeconds": 2.5}}]},
         "THROTTLED"),
        (200, {"errors": [{"message": "Unknown metro"}]}, "HTTP_200"),
        (413, b"not json", "HTTP_413"),
        (500, {"data": None}, "HTTP_500"),
    ],
)  # fmt: skip
async def test_errors_become_query_failed_with_their_code(
    status: int, answer: Any, code: str
) -> None:
    result = await InProcessGraphQL(Recorder(status, answer)).run(CALLER, QUERY, {})
    assert not result.ok
    with pytest.raises(QueryFailedError) as failed:
        result.data()
    assert failed.value.code == code
    assert failed.value.throttled == (code == "THROTTLED")


def test_every_page_query_ships_with_the_package() -> None:
    for name in ("compare", "role", "level", "metro", "company", "index", "live_role"):
        assert PageQuery.load(name).text.lstrip().startswith("#")  # each says what it is for
