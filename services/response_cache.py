"""A response cache for GraphQL POSTs, keyed on (request body, data version).

Aggregates change only when the consumer commits a batch, and every batch bumps one version
number, which the API follows (services/data_version.py: pushed by a change stream, or polled).
While it stands still, an identical request gets the identical answer, so it is served from
memory without parsing, validating, executing or reading MongoDB. How long a response can lag a
commit is bounded there. Responses with errors are never cached.

The cache is bounded in bytes (keys, bodies and headers), not only in entries: a thousand
heavy answers of 1.5 MB each would otherwise hold 1.5 GB. A response larger than an eighth of
the budget is not kept at all, and its chunks are not even gathered, so one huge answer cannot
flush everything else.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rolepulse.services.data_version import DataVersion
from rolepulse.services.limits import CHECKED_BODY_SCOPE_KEY

__all__ = ["DataVersion", "ResponseCache"]

MAX_CACHED_BODY = 64 * 1024  # bigger requests are not worth keeping as keys
DEFAULT_MAX_BYTES = 32 * 1024 * 1024
MAX_ENTRY_SHARE = 8  # one response may take at most 1/8 of the budget
ENTRY_OVERHEAD = 256  # the entry's objects and the dict slot, roughly, so tiny ones count too


@dataclass(frozen=True, slots=True)
class _Entry:
    version: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    size: int


class ResponseCache:
    """ASGI wrapper around the GraphQL app; only POSTs are cached, everything else passes."""

    def __init__(
        self,
        app: ASGIApp,
        version: DataVersion,
        maxsize: int = 1024,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self._app = app
        self._version = version
        self._maxsize = maxsize
        self._max_bytes = max_bytes
        self._max_entry_bytes = max_bytes // MAX_ENTRY_SHARE
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()
        self.bytes = 0  # the size of all entries, as counted against max_bytes
        self.hits = 0
        self.misses = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        version = self._version.current
        if scope["type"] != "http" or scope["method"] != "POST" or version is None:
            await self._app(scope, receive, send)
            return
        body = scope.get(CHECKED_BODY_SCOPE_KEY)
        if body is None:  # no door in front (tests): read it, and hand it on
            body, more = await _read_body(receive, MAX_CACHED_BODY)
            receive = _replay(body, more, receive)
        else:  # read by the door, which hands it on itself
            more = len(body) > MAX_CACHED_BODY
        if more:  # too large to key on: pass it through untouched
            await self._app(scope, receive, send)
            return
        entry = self._entries.get(body)
        if entry is not None and entry.version == version:
            self.hits += 1
            self._entries.move_to_end(body)
            await _send(send, entry)
            return
        self.misses += 1
        await self._app(scope, receive, self._capture(send, body, version))

    def _capture(self, send: Send, key: bytes, version: int) -> Send:
        start: Message = {}
        chunks: list[bytes] = []
        size = len(key) + ENTRY_OVERHEAD

        async def capture(message: Message) -> None:
            nonlocal start, size
            if message["type"] == "http.response.start":
                start = message
                size += sum(len(k) + len(v) for k, v in start.get("headers", []))
            elif message["type"] == "http.response.body" and size <= self._max_entry_bytes:
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self._max_entry_bytes:
                    chunks.clear()  # too big to keep: stop holding it
                else:
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        self._store(key, version, start, b"".join(chunks), size)
            await send(message)

        return capture

    def _store(self, key: bytes, version: int, start: Message, body: bytes, size: int) -> None:
        if start.get("status") != 200 or b'"errors"' in body:
            return
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"set-cookie"]
        self._evict(key)
        self._entries[key] = _Entry(version, headers, body, size)
        self.bytes += size
        while len(self._entries) > self._maxsize or self.bytes > self._max_bytes:
            self._evict(next(iter(self._entries)))

    def _evict(self, key: bytes) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """Read up to `limit` bytes; the flag says whether the request body goes on."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > limit:
            return b"".join(chunks), more


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """Hand the already-read body to the app first, then the connection's own messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay


async def _send(send: Send, entry: _Entry) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})
