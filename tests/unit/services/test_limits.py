"""The door of /graphql: limits checked on the raw request, and the issue's hostile requests
answered through the whole app as 4xx JSON (or a coded GraphQL error), never a 500."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import pytest
from graphql import GraphQLSyntaxError, parse
from hypothesis import given
from hypothesis import strategies as st
from starlette.types import Message, Receive, Scope, Send

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.limits import (
    CHECKED_BODY_SCOPE_KEY,
    PASSED_MAX_BYTES,
    PASSED_MAX_ENTRIES,
    DoorLimits,
    RequestLimits,
    count_tokens,
    too_deep,
)
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

JSON = {"content-type": "application/json"}
LIMITS = DoorLimits(max_body_bytes=64 * 1024, max_tokens=5_000, max_json_depth=32)
TAXONOMY = {"llm-engineer": RoleInfo("llm-engineer", "LLM Engineer", "LLM apps", ("Staff",))}
CONTRACT_LIKE = """query Compare($a: String!, $b: String! = "x") {
  # a comment, counted as a token like graphql-core's max_tokens counts it
  market { openPositions }
  compareRoles(a: $a, b: $b, salaryBasis: MAX) {
    premiumPct higherPaid { slug } sharedSkills overlapPct
    a { ...R } b { ... on Role { slug } }
  }
}
fragment R on Role @include(if: true) {
  slug title, topSkills(limit: 8) { name count } x: salary(basis: MIN) { p25 }
  s: role(slug: "esc \\" [ { aped", n: -12.5e3, l: [1, 2], o: {k: null},
    d: \"\"\"block \\\"\"\" \"\"\")
}"""


class EchoApp:
    """Records what reaches it and answers 200 with the body it was given."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        if scope["method"] == "POST":
            message = await receive()
            body = message["body"]
            assert not message["more_body"]
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


def door(app: EchoApp, limits: DoorLimits = LIMITS) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=RequestLimits(app, limits))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def error_of(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["message"]
    return response.status_code, error["extensions"]["code"]


# ---- pure checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [CONTRACT_LIKE, "{ a }", "{a{b{c}}}", "query($v: [Int!]!) { f(v: $v) @skip(if: false) }"],
)
def test_token_count_is_graphql_cores_max_tokens_count(document: str) -> None:
    count = count_tokens(document, 10**6)
    parse(document, max_tokens=count)
    with pytest.raises(GraphQLSyntaxError, match=f"more than {count - 1} tokens"):
        parse(document, max_tokens=count - 1)


def test_token_count_stops_just_above_the_limit() -> None:
    assert count_tokens("{" + " a" * 100_000 + "}", 5_000) == 5_001


JSON_VALUES = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab'),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=30,
)


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


@given(JSON_VALUES, st.integers(min_value=0, max_value=6))
def test_nesting_scan_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    text = json.dumps(value)
    assert too_deep(text, limit) == (depth(value) > limit)


def test_nesting_scan_is_linear_not_recursive() -> None:
    assert too_deep("[" * 1_000_000, 32)
    assert not too_deep('["' + "[{" * 1_000_000 + '"]', 32)


# ---- the door, in front of a recording app ----------------------------------------------------


async def test_a_valid_request_reaches_the_app_unchanged() -> None:
    app = EchoApp()
    body = json.dumps({"query": "{ market { openPositions } }", "variables": {"a": [1]}}).encode()
    async with door(app) as http:
        posted = await http.post("/graphql", content=body, headers=JSON)
        charset = await http.post(
            "/graphql", content=body, headers={"content-type": "application/json; charset=utf-8"}
        )
        got = await http.get("/graphql", params={"query": "{ a }", "variables": '{"a": 1}'})
        page = await http.get("/graphql", headers={"accept": "text/html"})
    assert posted.status_code == charset.status_code == got.status_code == page.status_code == 200
    assert app.bodies == [body, body, b"", b""]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"42", 400, "BAD_REQUEST_BODY"),
        (b"null", 400, "BAD_REQUEST_BODY"),
        (b'"{ a }"', 400, "BAD_REQUEST_BODY"),
        (b'[{"query": "{ a }"}]', 400, "BATCHING_NOT_SUPPORTED"),
        (b'{"query": "\xff"}', 400, "BAD_REQUEST_BODY"),
        (b'{"query": "{ a }"', 400, "BAD_REQUEST_BODY"),
        (b'{"query": "{ a }", "variables": {"n": NaN}}', 400, "BAD_REQUEST_BODY"),
        (
            b'{"query": "{ a }", "variables": {"n": 1' + b"0" * 5_000 + b"}}",
            400,
            "BAD_REQUEST_BODY",
        ),
        (
            b'{"query": "{ a }", "variables": {"a": ' + b"[" * 33 + b"]" * 33 + b"}}",
            400,
            "NESTING_TOO_DEEP",
        ),
        (
            b'{"query": "{ a }", "variables": {"a": ' + b"[" * 30_000 + b"}}",
            400,
            "NESTING_TOO_DEEP",
        ),
        (b"{}", 400, "BAD_REQUEST_BODY"),
        (b'{"query": "  "}', 400, "BAD_REQUEST_BODY"),
        (b'{"query": 1}', 400, "BAD_REQUEST_BODY"),
        (b'{"query": "{ a }", "variables": [1]}', 400, "BAD_REQUEST_BODY"),
        (b'{"query": "{ a }", "extensions": "x"}', 400, "BAD_REQUEST_BODY"),
        (b'{"query": "{ a }", "operationName": 1}', 400, "BAD_REQUEST_BODY"),
        (json.dumps({"query": "{" + " a" * 5_000 + "}"}).encode(), 400, "QUERY_TOO_LARGE"),
        (b'{"query": "' + b"x" * 70_000 + b'"}', 413, "BODY_TOO_LARGE"),
    ],
)
async def test_a_bad_body_is_refused_as_json_before_the_app(
    body: bytes, status: int, code: str
) -> None:
    app = EchoApp()
    async with door(app) as http:
        response = await http.post("/graphql", content=body, headers=JSON)
    assert error_of(response) == (status, code)
    assert app.bodies == []


async def test_a_query_of_exactly_the_token_limit_passes() -> None:
    app = EchoApp()
    async with door(app) as http:
        response = await http.post("/graphql", json={"query": "{" + " a" * 4_998 + "}"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/graphql", "multipart/form-data"]
)
async def test_only_json_bodies_are_accepted(content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    async with door(EchoApp()) as http:
        response = await http.post("/graphql", content=b'{"query": "{ a }"}', headers=headers)
    assert error_of(response) == (415, "UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_other_methods_are_405_with_allow(method: str) -> None:
    async with door(EchoApp()) as http:
        response = await http.request(method, "/graphql")
    assert error_of(response) == (405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "GET, POST"


async def test_get_queries_have_the_same_limits() -> None:
    long_query = "{" + " a" * 5_000 + "}"
    small = DoorLimits(max_body_bytes=20_000, max_tokens=5_000, max_json_depth=32)
    async with door(EchoApp(), small) as http:
        too_long = await http.get("/graphql", params={"query": "{ a }", "x": "y" * 20_000})
        tokens = await http.get("/graphql", params={"query": long_query})
        nested = await http.get("/graphql", params={"query": "{ a }", "variables": "[" * 40})
        not_json = await http.get("/graphql", params={"query": "{ a }", "extensions": "{"})
        not_object = await http.get("/graphql", params={"query": "{ a }", "variables": "[1]"})
    assert error_of(too_long) == (414, "URI_TOO_LONG")
    assert error_of(tokens) == (400, "QUERY_TOO_LARGE")
    assert error_of(nested) == (400, "NESTING_TOO_DEEP")
    assert error_of(not_json) == (400, "BAD_REQUEST_BODY")
    assert error_of(not_object) == (400, "BAD_REQUEST_BODY")


# ---- streaming: refused as soon as the limit is passed, without buffering the rest ------------


class Wire:
    """An ASGI server's side of one request: body chunks to hand out, messages sent back."""

    def __init__(self, chunks: Sequence[bytes], disconnect: bool = False) -> None:
        self.chunks = list(chunks)
        self.disconnect = disconnect
        self.reads = 0
        self.sent: list[Message] = []

    async def receive(self) -> Message:
        self.reads += 1
        if not self.chunks:
            assert self.disconnect, "read past the end of the body"
            return {"type": "http.disconnect"}
        chunk = self.chunks.pop(0)
        more = bool(self.chunks) or self.disconnect
        return {"type": "http.request", "body": chunk, "more_body": more}

    async def send(self, message: Message) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])


def post_scope(headers: dict[str, str]) -> Scope:
    raw = [(k.encode(), v.encode()) for k, v in {**JSON, **headers}.items()]
    return {"type": "http", "method": "POST", "path": "/graphql", "headers": raw}


async def test_a_chunked_body_is_counted_as_it_streams_and_refused_past_the_limit() -> None:
    wire = Wire([b"x" * 16 * 1024] * 100)  # 1.6 MB, no Content-Length
    app = EchoApp()
    await RequestLimits(app, LIMITS)(post_scope({}), wire.receive, wire.send)
    assert wire.status == 413
    assert wire.reads == 5  # 80 KB read, the rest left to the server to discard
    assert b"connection" not in wire.headers  # the connection stays usable
    assert app.bodies == []


async def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    wire = Wire([b"x" * 1_400_000])
    await RequestLimits(EchoApp(), LIMITS)(
        post_scope({"content-length": "1400000"}), wire.receive, wire.send
    )
    assert (wire.status, wire.reads) == (413, 0)
    assert json.loads(wire.sent[1]["body"])["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"


async def test_a_client_waiting_for_100_continue_gets_the_refusal_on_a_closing_connection() -> None:
    wire = Wire([b"x"])
    headers = {"content-length": "1400000", "expect": "100-continue"}
    await RequestLimits(EchoApp(), LIMITS)(post_scope(headers), wire.receive, wire.send)
    assert wire.status == 413
    assert wire.headers[b"connection"] == b"close"


async def test_a_body_being_sent_after_100_continue_keeps_the_connection() -> None:
    wire = Wire([b"x" * 40_000] * 3)  # asked for, so the client was told to go on and send it
    await RequestLimits(EchoApp(), LIMITS)(
        post_scope({"expect": "100-continue"}), wire.receive, wire.send
    )
    assert wire.status == 413
    assert b"connection" not in wire.headers


async def test_a_client_gone_mid_body_gets_no_answer_and_the_app_no_call() -> None:
    wire = Wire([b'{"query": '], disconnect=True)
    app = EchoApp()
    await RequestLimits(app, LIMITS)(post_scope({}), wire.receive, wire.send)
    assert wire.sent == []
    assert app.bodies == []


async def test_a_body_that_passed_is_remembered_and_handed_on_as_one_copy() -> None:
    app = EchoApp()
    limits = RequestLimits(app, LIMITS)
    body = json.dumps({"query": "{ market { openPositions } }"}).encode()
    scopes = [post_scope({}), post_scope({})]
    for scope in scopes:
        wire = Wire([bytes(bytearray(body))])  # a fresh object each time, as from the socket
        await limits(scope, wire.receive, wire.send)
        assert wire.status == 200
    first, second = app.bodies
    assert first == body
    assert second is first  # the response cache keys on it: found by identity, hash computed
    assert scopes[1][CHECKED_BODY_SCOPE_KEY] is first
    assert (limits.passed_count, limits.passed_bytes) == (1, len(body))


async def test_a_refused_body_is_not_remembered_and_refused_again() -> None:
    limits = RequestLimits(EchoApp(), LIMITS)
    for _ in range(2):
        wire = Wire([b'{"query": "{ a }", "variables": [1]}'])
        await limits(post_scope({}), wire.receive, wire.send)
        assert wire.status == 400
    assert limits.passed_count == 0


async def test_remembered_bodies_are_bounded_in_count_and_bytes() -> None:
    limits = RequestLimits(EchoApp(), DoorLimits(max_body_bytes=400_000))
    for i in range(PASSED_MAX_ENTRIES + 10):
        wire = Wire([json.dumps({"query": f"{{ a{i} }}"}).encode()])
        await limits(post_scope({}), wire.receive, wire.send)
    assert limits.passed_count == PASSED_MAX_ENTRIES
    padding = " " * 100_000  # 100 KB bodies: ten would be 1 MB
    for i in range(12):
        wire = Wire([json.dumps({"query": f"{{ b{i} }}{padding}"}).encode()])
        await limits(post_scope({}), wire.receive, wire.send)
        assert wire.status == 200
    assert limits.passed_bytes <= PASSED_MAX_BYTES
    before = limits.passed_bytes
    wire = Wire([json.dumps({"query": f"{{ c }}{padding * 3}"}).encode()])  # above an eighth
    await limits(post_scope({}), wire.receive, wire.send)
    assert wire.status == 200
    assert limits.passed_bytes == before


async def test_websockets_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    wire = Wire([])
    await RequestLimits(app, LIMITS)({"type": "websocket"}, wire.receive, wire.send)
    assert seen == ["websocket"]


# ---- the hostile requests, through the whole app ---------------------------------------


class FakeReadModel:
    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {"llm-engineer": {"_id": "llm-engineer", "open": 3}}

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "open_ai": 12}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


@pytest.fixture
async def api() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(FakeReadModel(), TAXONOMY, ApiSettings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


def aliases(size: int) -> bytes:
    fields = (f"a{i}: market {{ openPositions }} " for i in range(size // 30))
    return json.dumps({"query": "{ " + "".join(fields) + "}"}).encode()


HOSTILE = {
    "1.4 MB of alias tokens": (aliases(1_400_000), JSON, 413, "BODY_TOO_LARGE"),
    "60 KB of tokens": (aliases(60_000), JSON, 400, "QUERY_TOO_LARGE"),
    "__typename x 100k": (
        json.dumps({"query": "{" + " __typename" * 100_000 + "}"}).encode(),
        JSON,
        413,
        "BODY_TOO_LARGE",
    ),
    "JSON body 42": (b"42", JSON, 400, "BAD_REQUEST_BODY"),
    "non-UTF-8 body": (
        b'{"query": "{ market { openPositions } }\xc3\x28"}',
        JSON,
        400,
        "BAD_REQUEST_BODY",
    ),
    "variables nested 100k deep": (
        b'{"query": "{ __typename }", "variables": {"v": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}}",
        JSON,
        413,
        "BODY_TOO_LARGE",
    ),
    "variables nested 30k deep": (
        b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 30_000 + b"]" * 30_000 + b"}}",
        JSON,
        400,
        "NESTING_TOO_DEEP",
    ),
    "10 MB unknown slug": (
        json.dumps({"query": '{ role(slug: "' + "x" * 10_000_000 + '") { slug } }'}).encode(),
        JSON,
        413,
        "BODY_TOO_LARGE",
    ),
    "batched array": (b'[{"query": "{ __typename }"}]', JSON, 400, "BATCHING_NOT_SUPPORTED"),
    "wrong content type": (
        b'{"query": "{ __typename }"}',
        {"content-type": "text/plain"},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
    ),
}


@pytest.mark.parametrize("name", HOSTILE)
async def test_hostile_requests_get_a_precise_4xx_json_and_log_no_traceback(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    body, headers, status, code = HOSTILE[name]
    with caplog.at_level(logging.DEBUG):
        response = await api.post("/graphql", content=body, headers=headers)
    assert error_of(response) == (status, code)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_wrong_method_and_unknown_path_are_json_too(api: httpx.AsyncClient) -> None:
    put = await api.put("/graphql", content=b"{}")
    healthz = await api.post("/healthz")
    missing = await api.get("/nope")
    assert error_of(put) == (405, "METHOD_NOT_ALLOWED")
    assert error_of(healthz) == (405, "METHOD_NOT_ALLOWED")
    assert error_of(missing) == (404, "NOT_FOUND")


async def test_an_unknown_slug_is_echoed_at_most_100_characters(api: httpx.AsyncClient) -> None:
    query = '{ role(slug: "' + "y" * 60_000 + '") { slug } }'
    response = await api.post("/graphql", json={"query": query})
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["slug"] == "y" * 100 + "…"
    assert "y" * 101 not in error["message"]
    assert len(response.content) < 1_000


async def test_graphql_get_and_the_graphiql_page_still_work(api: httpx.AsyncClient) -> None:
    got = await api.get("/graphql", params={"query": "{ market { openPositions } }"})
    page = await api.get("/graphql", headers={"accept": "text/html"})
    assert got.json()["data"] == {"market": {"openPositions": 12}}
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
