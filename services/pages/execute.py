"""A page's query, run in process through the API's own GraphQL chain.

The pages are a client of the API like any other: their queries are POSTed, as ASGI calls
without a socket, to the same chain `POST /graphql` reaches (the door's limits, the rate
limiter, the response cache, strawberry's view). So a page costs what the same query costs an
external client, is charged to the visitor's bucket when rate limiting is on (the POST carries
the page request's client address and API key), and is answered from the response cache while
the data version stands still: a page is never computed from anything a client could not ask.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.types import ASGIApp, Message, Scope

from rolepulse.services.graphql.guard import BAD_USER_INPUT

QUERIES = "rolepulse.services.pages"
THROTTLED = "THROTTLED"


@dataclass(frozen=True, slots=True)
class PageQuery:
    """A GraphQL document of queries/, read once."""

    name: str  # the file's stem, e.g. "compare"
    text: str

    @classmethod
    def load(cls, name: str) -> PageQuery:
        path = resources.files(QUERIES).joinpath("queries", f"{name}.graphql")
        return cls(name, path.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as it came: its status and JSON body, parsed only when asked."""

    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        """Data and no error, by the response cache's own test (services/response_cache.py):
        cheap enough to make on every page view, before deciding to parse at all."""
        return self.status == 200 and b'"errors"' not in self.body

    def data(self) -> dict[str, Any]:
        """The answer's `data`, or QueryFailedError with the first error's code."""
        return _data(self.status, self.body)


class QueryFailedError(Exception):
    """The API refused or could not answer a page's query."""

    def __init__(self, code: str, message: str, extensions: Mapping[str, Any] | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code  # extensions.code of the first error, or "HTTP_<status>"
        self.message = message
        self.extensions: Mapping[str, Any] = extensions or {}

    @property
    def bad_input(self) -> bool:
        return self.code == BAD_USER_INPUT

    @property
    def throttled(self) -> bool:
        return self.code == THROTTLED


# Headers of the page request handed on with its query: the API key names the caller's bucket
# (services/ratelimit.py); the forwarded-for header is read only by uvicorn, which has already
# written the caller's address into the scope's `client`, copied below.
FORWARDED_HEADERS = frozenset({b"x-api-key"})


class InProcessGraphQL:
    """POSTs page queries to `app`, the ASGI chain behind `POST /graphql`."""

    def __init__(self, app: ASGIApp, path: str = "/graphql", key_header: str = "x-api-key") -> None:
        self._app = app
        self._path = path
        self._forwarded = FORWARDED_HEADERS | {key_header.lower().encode("latin-1")}

    @staticmethod
    def body(query: PageQuery, variables: Mapping[str, Any]) -> bytes:
        """The request body, byte for byte the same for the same variables: the response
        cache keys on it."""
        return json.dumps(
            {"query": query.text, "variables": dict(variables)}, separators=(",", ":")
        ).encode()

    async def run(self, caller: Scope, query: PageQuery, variables: Mapping[str, Any]) -> Answer:
        """The answer to the query, as the API sent it."""
        body = self.body(query, variables)
        headers = [
            (b"content-type", b"application/json"),
            (b"accept", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k, v) for k, v in caller.get("headers", ()) if k in self._forwarded),
        ]
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": caller.get("scheme", "http"),
            "path": self._path,
            "raw_path": self._path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": caller.get("client"),
            "server": caller.get("server"),
            "state": {},
        }
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:  # the app asks again only to learn that the client went away
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 0
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self._app(scope, receive, send)
        return Answer(status, b"".join(chunks))


def _data(status: int, raw: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    except ValueError:
        raise QueryFailedError(f"HTTP_{status}", raw[:200].decode(errors="replace")) from None
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if errors:
        first = errors[0]
        extensions = first.get("extensions") or {}
        code = str(extensions.get("code") or f"HTTP_{status}")
        raise QueryFailedError(code, str(first.get("message", "")), extensions)
    if status != 200 or not isinstance(payload.get("data"), dict):
        raise QueryFailedError(f"HTTP_{status}", "no data")
    data: dict[str, Any] = payload["data"]
    return data
