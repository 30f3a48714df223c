"""Per-client rate limiting by query cost: one token bucket per client, charged before execution.

Each client has a bucket of `capacity` points (Shopify's `maximumAvailable`) that refills at
`restore_per_s` points per second (`restoreRate`) up to full. A query is admitted only when its
cost (services/graphql/cost.py) is available, and its cost is taken at admission, before it
executes; otherwise it is refused with `THROTTLED` and told how long until it would fit.

Who is a client: the value of the API-key header when it is one of the configured keys, else
the client's address (an IPv6 address by its /64, which one host can rotate through freely).
An unknown key counts as no key, so inventing keys cannot buy fresh buckets; behind a proxy,
run uvicorn with `--forwarded-allow-ips` so the address is the caller's, not the proxy's.

Memory is bounded: at most `max_clients` buckets, least recently used evicted first. A bucket
idle for `capacity / restore_per_s` seconds is full again, i.e. no different from a new one, so
evicting the least recently used loses nothing until that many clients are active at once.

The limiter is pure (clock injected). `RateLimitGate` is its ASGI side: it stands in front of
the response cache, so answers served from memory are charged too and every response carries the
caller's live `extensions.cost.throttleStatus` (a cached body would otherwise hold someone
else's).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rolepulse.settings import ApiSettings

THROTTLED = "THROTTLED"
# Where the gate leaves the request's Admission for the GraphQL context (services/app.py).
ADMISSION_SCOPE_KEY = "rolepulse.admission"


# NamedTuples, not frozen dataclasses: two are made per request, and these are 5x cheaper.
class ThrottleStatus(NamedTuple):
    maximum_available: float
    currently_available: float
    restore_rate: float

    def as_json(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum_available,
            "currentlyAvailable": round(self.currently_available, 1),
            "restoreRate": self.restore_rate,
        }


class Decision(NamedTuple):
    admitted: bool
    requested: int
    status: ThrottleStatus  # after the charge when admitted
    # Refused: seconds until `requested` points are available; None when it never will be (the
    # query costs more than a full bucket; settings keep the query budget below the bucket).
    retry_after_s: float | None = None


class _Bucket:
    __slots__ = ("level", "stamp")

    def __init__(self, level: float, stamp: float) -> None:
        self.level = level
        self.stamp = stamp


class RateLimiter:
    """Token buckets per client key, bounded to `max_clients` buckets (LRU).

    `max_charge`: no query is charged more (the query budget: only an introspection query may
    cost more, services/graphql/cost.py, and it must still fit a bucket that holds the budget).
    """

    def __init__(
        self,
        capacity: float,
        restore_per_s: float,
        *,
        max_clients: int = 100_000,
        max_charge: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity <= 0 or restore_per_s <= 0 or max_clients < 1:
            raise ValueError("capacity, restore_per_s and max_clients must be positive")
        self.capacity = capacity
        self.restore_per_s = restore_per_s
        self.max_clients = max_clients
        self.max_charge = max_charge
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def charge(self, client: str, cost: int) -> Decision:
        """Take `cost` points (at most `max_charge`) from `client`'s bucket if it holds them;
        never a partial charge."""
        if self.max_charge is not None:
            cost = min(cost, self.max_charge)
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = _Bucket(self.capacity, now)
            self._buckets[client] = bucket
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(client)
            self._refill(bucket, now)
        if cost <= bucket.level:
            bucket.level -= cost
            return Decision(True, cost, self._status(bucket.level))
        wait = (cost - bucket.level) / self.restore_per_s if cost <= self.capacity else None
        return Decision(False, cost, self._status(bucket.level), wait)

    def status(self, client: str) -> ThrottleStatus:
        """The bucket as it stands now, without charging or tracking the client."""
        bucket = self._buckets.get(client)
        if bucket is None:
            return self._status(self.capacity)
        self._refill(bucket, self._clock())
        return self._status(bucket.level)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        elapsed = max(0.0, now - bucket.stamp)
        bucket.level = min(self.capacity, bucket.level + elapsed * self.restore_per_s)
        bucket.stamp = now

    def _status(self, level: float) -> ThrottleStatus:
        return ThrottleStatus(self.capacity, level, self.restore_per_s)


class Admission:
    """One request's access to its client's bucket: the GraphQL layer charges it at most once."""

    __slots__ = ("client", "decision", "limiter")

    def __init__(self, limiter: RateLimiter, client: str) -> None:
        self.limiter = limiter
        self.client = client
        self.decision: Decision | None = None

    def admit(self, cost: int) -> Decision:
        if self.decision is None:
            self.decision = self.limiter.charge(self.client, cost)
        return self.decision

    def status(self) -> ThrottleStatus:
        if self.decision is not None:
            return self.decision.status
        return self.limiter.status(self.client)


def throttled_error(decision: Decision) -> dict[str, Any]:
    """The GraphQL error (JSON shape) of a refused query: what it needs and when to retry."""
    status = decision.status
    retry = decision.retry_after_s
    if retry is None:
        message = (
            f"Query cost {decision.requested} exceeds the rate limit's bucket of "
            f"{status.maximum_available:g} points; it can never be admitted."
        )
    else:
        message = (
            f"Throttled: the query costs {decision.requested} points and "
            f"{status.currently_available:.0f} are available; {status.restore_rate:g} are "
            f"restored per second, retry in {math.ceil(retry)} s."
        )
    extensions: dict[str, Any] = {
        "code": THROTTLED,
        "requested": decision.requested,
        "currentlyAvailable": round(status.currently_available, 1),
        "retryAfterSeconds": None if retry is None else round(retry, 3),
    }
    return {"message": message, "extensions": extensions}


class ClientIdentity:
    """Maps a request to its bucket key: a configured API key, else the client's address."""

    def __init__(self, header: str, api_keys: Iterable[str]) -> None:
        self.header = header.lower().encode("latin-1")
        # Only digests are kept, so keys never sit in memory dumps or bucket names.
        self._keys = {_digest(k) for k in api_keys if k}

    def __call__(self, scope: Scope) -> str:
        if self._keys:
            for name, value in scope.get("headers", ()):
                if name == self.header:
                    digest = _digest(value.decode("latin-1"))
                    if digest in self._keys:
                        return f"key:{digest[:16]}"
                    break
        return f"addr:{_address(scope)}"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _address(scope: Scope) -> str:
    client = scope.get("client")
    if not client:
        return "unknown"
    host = str(client[0])
    if ":" not in host:
        return host  # IPv4 (or a name): as it is; no parsing on the common path
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # e.g. a unix socket path or a test client's name
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return host


class RateLimitGate:
    """ASGI wrapper of the GraphQL endpoint (outside the response cache) when limiting is on.

    It gives each request an `Admission` (through the scope; the GraphQL context hands it to
    the cost extension, which charges the query before validation and execution and reports
    `throttleStatus`). A response that was charged passes through untouched (a Retry-After
    header added when it was refused). One that was not is read: a successful answer nobody
    charged came from the response cache, and is charged its `extensions.cost.requested` now
    (refused with THROTTLED if unavailable); its stored `throttleStatus` is replaced by the
    caller's.
    """

    def __init__(self, app: ASGIApp, limiter: RateLimiter, identity: ClientIdentity) -> None:
        self._app = app
        self.limiter = limiter
        self._identity = identity
        self._split = SplitBodies()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        admission = Admission(self.limiter, self._identity(scope))
        scope[ADMISSION_SCOPE_KEY] = admission
        start: Message = {}
        chunks: list[bytes] = []

        async def gate(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                decision = admission.decision
                if decision is not None or not _is_json(message):
                    # Priced by the GraphQL layer (the cache-miss path), or not JSON at all
                    # (GraphiQL's page): nothing to add but the hint of a refusal.
                    await send(_with_retry_after(message, decision))
                    return
                start = message
                return
            if not start:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                await _send_rewritten(send, start, body, admission, self._split)

        await self._app(scope, receive, gate)


def _is_json(start: Message) -> bool:
    for name, value in start.get("headers", ()):
        if name.lower() == b"content-type":
            return bytes(value).startswith(b"application/json") or b"+json" in bytes(value)
    return False


def _with_retry_after(start: Message, decision: Decision | None) -> Message:
    if decision is None or decision.admitted or decision.retry_after_s is None:
        return start
    retry_after = str(max(1, math.ceil(decision.retry_after_s))).encode()
    return {**start, "headers": [*start.get("headers", []), (b"retry-after", retry_after)]}


async def _send_rewritten(
    send: Send, start: Message, body: bytes, admission: Admission, split: SplitBodies
) -> None:
    rewritten = _with_throttle_status(body, admission, split)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(rewritten)).encode()))
    await send(_with_retry_after({**start, "headers": headers}, admission.decision))
    await send({"type": "http.response.body", "body": rewritten})


# Stands for throttleStatus in a body split around it (SplitBodies): random per process, so no
# response can hold it by chance or by design.
_STATUS_MARK = json.dumps(f"\x00throttleStatus-{secrets.token_hex(16)}").encode()


class _Split(NamedTuple):
    """A priced response, re-encoded as `head` + the value of its throttleStatus + `tail`."""

    head: bytes
    tail: bytes
    requested: int
    errors: bool


class SplitBodies:
    """Priced response bodies, each decoded once and kept split around its throttleStatus.

    A body reaches the gate uncharged when the response cache answered: the same bytes object
    on every hit of a cache entry. Decoding and encoding it again to put the caller's status in
    took 48 µs for the contract query's answer, three quarters of that answer's time in process;
    split once, the live status is encoded alone and joined in, the same bytes (7.6 µs for the
    whole gate). Bounded like the response cache, in entries and bytes (least recently used out
    first); a body above an eighth of `max_bytes` is split on every use instead.
    """

    def __init__(self, max_entries: int = 1024, max_bytes: int = 4 * 1024 * 1024) -> None:
        self._entries: OrderedDict[bytes, _Split | None] = OrderedDict()
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, body: bytes) -> _Split | None:
        """`body` split, or None when it is not a priced GraphQL response."""
        if body in self._entries:
            self._entries.move_to_end(body)
            return self._entries[body]
        split = _split(body)
        if len(body) <= self._max_bytes // 8:
            self._entries[body] = split
            self.bytes += 2 * len(body)  # the key, and the two halves about as long
            while len(self._entries) > self._max_entries or self.bytes > self._max_bytes:
                self.bytes -= 2 * len(self._entries.popitem(last=False)[0])
        return split


def _split(body: bytes) -> _Split | None:
    try:
        result = json.loads(body)
        cost = result["extensions"]["cost"]
        requested = int(cost["requested"])
    except (ValueError, TypeError, KeyError):
        return None  # not a priced GraphQL response (e.g. refused at the door)
    # In the place of the stored status (a re-encoding keeps the key's place), else at the end.
    cost["throttleStatus"] = json.loads(_STATUS_MARK)
    head, _, tail = json.dumps(result).encode().partition(_STATUS_MARK)
    return _Split(head, tail, requested, bool(result.get("errors")))


def _with_throttle_status(body: bytes, admission: Admission, split: SplitBodies) -> bytes:
    parts = split.get(body)
    if parts is None:
        return body
    # Nothing charged a successful answer: the response cache gave it. It costs the same.
    uncharged = admission.decision is None and not parts.errors
    if uncharged and not (decision := admission.admit(parts.requested)).admitted:
        cost = json.loads(body)["extensions"]["cost"]
        cost["throttleStatus"] = decision.status.as_json()
        refused = {
            "data": None,
            "errors": [throttled_error(decision)],
            "extensions": {"cost": cost},
        }
        return json.dumps(refused).encode()
    status = json.dumps(admission.status().as_json()).encode()
    return b"".join((parts.head, status, parts.tail))


def rate_limit_gate(app: ASGIApp, settings: ApiSettings) -> RateLimitGate:
    limiter = RateLimiter(
        settings.rate_limit_bucket,
        settings.rate_limit_restore_per_s,
        max_clients=settings.rate_limit_max_clients,
        max_charge=settings.max_query_cost,
    )
    identity = ClientIdentity(settings.rate_limit_key_header, settings.rate_limit_keys())
    return RateLimitGate(app, limiter, identity)
