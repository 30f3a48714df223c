"""Limits at the door of /graphql: the raw request is checked before any GraphQL work.

Everything here is linear in the request's bytes and bounded by the body limit, so a hostile
request costs the server a few milliseconds at most, and the answer is a JSON error with the
right 4xx status, never a 500 (a 500 makes Starlette re-raise, which logs a traceback and makes
uvicorn drop the connection). A request that passes reaches the app unchanged: the body read
here is handed on as it came (strawberry parses it again, which costs microseconds at this size).

A body refused as too large is not drained: uvicorn discards the rest of a request body the app
did not read and keeps the connection, whereas closing it while the client is still sending
would make the client's kernel reset the connection and lose the 413 before it is read.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rolepulse.settings import ApiSettings

# Error codes (extensions.code) of requests refused here, before GraphQL sees them.
BODY_TOO_LARGE = "BODY_TOO_LARGE"
URI_TOO_LONG = "URI_TOO_LONG"
BAD_REQUEST_BODY = "BAD_REQUEST_BODY"
BATCHING_NOT_SUPPORTED = "BATCHING_NOT_SUPPORTED"
NESTING_TOO_DEEP = "NESTING_TOO_DEEP"
QUERY_TOO_LARGE = "QUERY_TOO_LARGE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"

ALLOWED_METHODS = ("GET", "POST")
# Where the door leaves a POST's body once it has passed, so the response cache behind need not
# read (and replay) it again; the body is still handed on through `receive` as it came.
CHECKED_BODY_SCOPE_KEY = "rolepulse.checked_body"
# Bodies remembered as passed (RequestLimits): 1,024 of them and 1 MB in all (the contract
# query's body is 579 bytes), none larger than an eighth of that.
PASSED_MAX_ENTRIES = 1024
PASSED_MAX_BYTES = 1024 * 1024
PASSED_MAX_ENTRY_SHARE = 8
JSON_MEDIA_TYPE = "application/json"

# One GraphQL lexical token per match, comments included: the count graphql-core's
# `parse(max_tokens=...)` (and so strawberry's MaxTokensLimiter) enforces. Characters that are
# no token are skipped; the parser reports them. Possessive loops keep every match linear.
_GRAPHQL_TOKEN = re.compile(
    r'"""(?:[^"\\]|\\"""|\\|"(?!""))*+"""'  # block string
    r'|"[^"\\\n\r]*+(?:\\.[^"\\\n\r]*+)*+"'  # string
    r"|#[^\n\r]*+"  # comment
    r"|-?\d++(?:\.\d++)?+(?:[eE][+-]?+\d++)?+"  # int or float
    r"|[_A-Za-z][_0-9A-Za-z]*+"  # name
    r"|\.\.\."
    r"|[!$&():=@\[\]{}|]"
)
# A JSON string (skipped whole) or one bracket: enough to measure nesting without parsing.
_JSON_STRUCTURE = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"|[\[\]{}]')


@dataclass(frozen=True, slots=True)
class DoorLimits:
    max_body_bytes: int = 64 * 1024
    max_tokens: int = 5_000
    max_json_depth: int = 32

    @classmethod
    def from_settings(cls, settings: ApiSettings) -> DoorLimits:
        return cls(settings.max_body_bytes, settings.max_query_tokens, settings.max_json_depth)


class ClientError(Exception):
    """A request refused with `status` and a GraphQL-shaped JSON error carrying `code`."""

    def __init__(
        self, status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = tuple(headers)


def error_body(message: str, code: str) -> bytes:
    payload = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return json.dumps(payload, separators=(",", ":")).encode()


async def send_error(send: Send, error: ClientError, *, close: bool = False) -> None:
    body = error_body(error.message, error.code)
    headers = [
        (b"content-type", JSON_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in error.headers),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """ASGI middleware in front of the GraphQL app (websockets pass through untouched).

    Bodies that passed are remembered (at most `PASSED_MAX_ENTRIES` and `PASSED_MAX_BYTES`, least
    recently used out first). The body checks depend on nothing but the body's bytes and the
    limits, so an identical body passes again without being decoded, scanned and parsed: for
    the contract query's 579 bytes that was 7 µs, half of what an answer from the response cache
    cost in process. The copy kept is the one handed on, so the response cache behind finds it
    by identity, its hash already computed. Headers are checked on every request.
    """

    def __init__(self, app: ASGIApp, limits: DoorLimits) -> None:
        self._app = app
        self._limits = limits
        self._passed: OrderedDict[bytes, bytes] = OrderedDict()
        self.passed_bytes = 0  # the size of the bodies remembered, bounded by PASSED_MAX_BYTES

    @property
    def passed_count(self) -> int:
        return len(self._passed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        reading = False  # once the body is asked for, uvicorn has sent any "100 Continue"
        try:
            if scope["method"] == "POST":
                self._check_post_headers(scope["headers"])
                reading = True
                body = await _read_body(receive, self._limits.max_body_bytes)
                if body is None:  # the client went away: nobody to answer
                    return
                body = self._checked_body(body)
                scope[CHECKED_BODY_SCOPE_KEY] = body
                receive = _replay(body, receive)
            elif scope["method"] == "GET":
                self._check_get(scope["query_string"])
            else:
                raise ClientError(
                    405,
                    METHOD_NOT_ALLOWED,
                    f"{scope['method']} is not supported here; send GraphQL requests by POST "
                    "(or queries by GET)",
                    [("allow", ", ".join(ALLOWED_METHODS))],
                )
        except ClientError as error:
            # A client waiting for "100 Continue" before sending the body it announced may
            # never send it, or send it after this answer: only a new connection is unambiguous.
            waiting = not reading and _header(scope, b"expect").lower() == b"100-continue"
            await send_error(send, error, close=waiting)
            return
        await self._app(scope, receive, send)

    def _checked_body(self, body: bytes) -> bytes:
        """`body` if it passes the body checks (ClientError if not), as the copy remembered."""
        known = self._passed.get(body)
        if known is not None:
            self._passed.move_to_end(body)
            return known
        check_request(parse_json_body(body, self._limits.max_json_depth), self._limits)
        if len(body) <= PASSED_MAX_BYTES // PASSED_MAX_ENTRY_SHARE:
            self._passed[body] = body
            self.passed_bytes += len(body)
            while len(self._passed) > PASSED_MAX_ENTRIES or self.passed_bytes > PASSED_MAX_BYTES:
                self.passed_bytes -= len(self._passed.popitem(last=False)[1])
        return body

    def _check_post_headers(self, raw_headers: Iterable[tuple[bytes, bytes]]) -> None:
        # A scan for the two headers needed, not a dict of them all; the last of a name wins.
        content_type = content_length = b""
        for name, value in raw_headers:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                content_length = value
        if content_type != b"application/json":  # what clients send; else parse it
            media_type = content_type.decode("latin-1").partition(";")[0].strip().lower()
            if media_type != JSON_MEDIA_TYPE:
                shown = _shorten(media_type) or "none"
                raise ClientError(
                    415,
                    UNSUPPORTED_MEDIA_TYPE,
                    f"Content-Type must be {JSON_MEDIA_TYPE}, got {shown}",
                    [("accept-post", JSON_MEDIA_TYPE)],
                )
        limit = self._limits.max_body_bytes
        if content_length.isdigit() and int(content_length) > limit:
            _too_large(limit)

    def _check_get(self, query_string: bytes) -> None:
        if len(query_string) > self._limits.max_body_bytes:
            raise ClientError(
                414,
                URI_TOO_LONG,
                f"The query string is longer than {self._limits.max_body_bytes} bytes; "
                "send large queries by POST",
            )
        # Decoded as Starlette decodes them for strawberry (the last value of a name wins).
        params = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
        if "query" not in params:
            return  # GraphiQL's page, or strawberry's own "no query" answer
        data: dict[str, Any] = {"query": params["query"]}
        for name in ("variables", "extensions"):
            if params.get(name):
                what = f"`{name}` parameter"
                data[name] = parse_json(params[name], what, self._limits.max_json_depth)
        if "operationName" in params:
            data["operationName"] = params["operationName"]
        check_request(data, self._limits)


def parse_json_body(body: bytes, max_depth: int) -> dict[str, Any]:
    """The request body as a JSON object; ClientError (400) for anything else."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ClientError(
            400, BAD_REQUEST_BODY, f"The request body is not valid UTF-8 (at byte {error.start})"
        ) from None
    data = parse_json(text, "request body", max_depth)
    if isinstance(data, list):
        raise ClientError(
            400,
            BATCHING_NOT_SUPPORTED,
            "Batched requests (a JSON array) are not supported; send one operation per request",
        )
    if not isinstance(data, dict):
        raise ClientError(
            400,
            BAD_REQUEST_BODY,
            "The request body must be a JSON object such as "
            f'{{"query": "...", "variables": {{...}}}}, got {_json_kind(data)}',
        )
    return data


def parse_json(text: str, what: str, max_depth: int) -> Any:
    """`text` parsed as standard JSON nested at most `max_depth` deep, else ClientError (400)."""
    if too_deep(text, max_depth):
        raise ClientError(
            400, NESTING_TOO_DEEP, f"The {what} nests JSON deeper than {max_depth} levels"
        )
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:  # unreachable after json_depth; kept so it can never become a 500
        raise ClientError(
            400, NESTING_TOO_DEEP, f"The {what} nests JSON deeper than {max_depth} levels"
        ) from None
    except json.JSONDecodeError as error:
        raise ClientError(
            400,
            BAD_REQUEST_BODY,
            f"The {what} is not valid JSON: {error.msg} (line {error.lineno}, column "
            f"{error.colno})",
        ) from None
    except ValueError as error:  # NaN/Infinity, or an integer longer than Python converts
        raise ClientError(
            400, BAD_REQUEST_BODY, f"The {what} is not valid JSON: {_shorten(str(error))}"
        ) from None


def too_deep(text: str, max_depth: int) -> bool:
    """Whether the JSON `text` nests arrays and objects deeper than `max_depth`.

    A linear scan outside strings, never recursion, so no input can exhaust the stack.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return False  # cannot nest deeper than it has brackets: the common case costs two counts
    depth = 0
    for match in _JSON_STRUCTURE.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        elif char in "]}":
            depth -= 1
    return False


def count_tokens(query: str, stop_above: int) -> int:
    """The GraphQL tokens of `query` (comments included), counted up to `stop_above` + 1."""
    count = 0
    for _ in _GRAPHQL_TOKEN.finditer(query):
        count += 1
        if count > stop_above:
            break
    return count


def check_request(data: Mapping[str, Any], limits: DoorLimits) -> None:
    """The GraphQL-over-HTTP fields strawberry would otherwise refuse as text/plain."""
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ClientError(
            400, BAD_REQUEST_BODY, "No GraphQL query found in the request: `query` must be a string"
        )
    for name in ("variables", "extensions"):
        if not isinstance(data.get(name), dict | None):
            raise ClientError(
                400, BAD_REQUEST_BODY, f"`{name}` must be a JSON object or null if provided"
            )
    if not isinstance(data.get("operationName"), str | None):
        raise ClientError(
            400, BAD_REQUEST_BODY, "`operationName` must be a string or null if provided"
        )
    # Every token takes at least one character: short queries need no count.
    if (
        len(query) > limits.max_tokens
        and count_tokens(query, limits.max_tokens) > limits.max_tokens
    ):
        raise ClientError(
            400,
            QUERY_TOO_LARGE,
            f"The query has more than {limits.max_tokens} tokens; split it into smaller queries",
        )


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, counted as it streams in (chunked bodies have no Content-Length)."""
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    body = bytes(message.get("body", b""))  # the same object if bytes; memo keys must be bytes
    if len(body) > limit:
        _too_large(limit)
    if not message.get("more_body", False):
        return body  # the usual case, a small body in one message: no copy
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, then the connection's own messages (a disconnect, typically)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _too_large(limit: int) -> NoReturn:
    raise ClientError(
        413, BODY_TOO_LARGE, f"The request body is larger than {limit} bytes; send a smaller query"
    )


def _header(scope: Scope, name: bytes) -> bytes:
    """The last value of the header `name` (lower case), b"" if absent."""
    found = b""
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return bytes(found)


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON value")


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return "a number"


def _shorten(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…"
