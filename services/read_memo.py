"""What the API read (and derived from it) at the current data version, kept in memory until the
version moves: a read model in front of MongoDB whose reads cost nothing after the first.

Aggregates change only in the consumer's transactions, each of which bumps the data version the
API follows by push (services/data_version.py). So a role document, a decoded rollup or a sum
of cells read at version v is what any later read at v would return: it is read once, kept, and
served to every request at v, with whatever was derived from it (services/graphql/derived.py:
sorted histograms, rankings). That is what makes a request that misses the response cache cost
the same with ten employers in a role or ten thousand: nothing it does is proportional to them
once the version's first request has read and prepared the documents.

The rules are those of the response cache:
- values are kept per version; when `current` moves, all of them go (a listener frees them at
  once; a read finishing after the move is answered but not kept);
- while the version is unknown (None), nothing is kept or served: every read goes to MongoDB;
- the key of a read is taken at its start, and a read started at v sees every commit up to v
  (the version moves only after its commit), so a kept value is never older than its version;
- concurrent requests for one key share one read; it is cancelled once none of them waits;
- it is bounded in bytes (an estimate of the Python objects, charged twice: a derived sorted
  list or ranking is about the size of what it comes from), least recently used out first, and
  never keeps a value larger than a quarter of the budget.
Only the stream clock and the postings themselves (the drill-down, the postings path of a
filter) are always read: the clock moves with batches that change no figure.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.rollups import Counters
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.read_model import ReadModel, SliceModel, WeeklyHistory

T = TypeVar("T")
C = TypeVar("C")

DEFAULT_MAX_BYTES = 128 * 1024 * 1024
# One value may take at most a quarter of the budget: a role document with 10,000 employers and
# as many salary values is about 11 MB as Python objects, charged twice.
MAX_ENTRY_SHARE = 4
DERIVED_FACTOR = 2  # a value is charged twice: itself and what may be derived from it


class Versions(Protocol):
    """What the memo needs of `DataVersion`."""

    @property
    def current(self) -> int | None: ...

    def on_change(self, listener: Callable[[], Any]) -> Callable[[], None]: ...


@dataclass(slots=True, eq=False)
class _Entry:
    value: Any
    size: int
    companion: Any = None


@dataclass(slots=True, eq=False)
class _Read:
    """One read in flight, shared by every request waiting for one of its keys."""

    task: asyncio.Task[dict[Hashable, Any]]
    waiters: int = 0
    keys: list[Hashable] = field(default_factory=list)


_ABSENT = object()  # a key the read answered without a value (e.g. a role without a document)


class ReadMemo:
    """Values by key, for the current data version only; see the module doc."""

    def __init__(self, versions: Versions, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._versions = versions
        self._max_bytes = max_bytes
        self._version: int | None = None
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._by_identity: dict[int, _Entry] = {}
        self._reads: dict[Hashable, _Read] = {}
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        if max_bytes > 0:
            versions.on_change(self._drop_if_moved)

    async def get(self, key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
        """The value of `key` at the current version, read by `read` if not kept."""

        async def one(_: list[Hashable]) -> dict[Hashable, Any]:
            return {key: await read()}

        value: T = (await self.get_many([key], one))[key]
        return value

    async def get_many(
        self,
        keys: Sequence[Hashable],
        read: Callable[[list[Hashable]], Awaitable[Mapping[Hashable, Any]]],
    ) -> dict[Hashable, Any]:
        """The kept values of `keys`; the others in ONE call of `read(missing keys)`, which
        answers those it has a value for (the rest are absent, and answered as absent here
        too: missing from the result)."""
        version = self._versions.current
        if version is None or self._max_bytes <= 0:
            return dict(await read(list(keys)))
        self._drop_if_moved()
        out: dict[Hashable, Any] = {}
        waits: dict[int, _Read] = {}
        missing: list[Hashable] = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is not None:
                self.hits += 1
                self._entries.move_to_end(key)
                if entry.value is not _ABSENT:
                    out[key] = entry.value
            elif (pending := self._reads.get(key)) is not None:
                self.hits += 1
                waits[id(pending)] = pending
            else:
                missing.append(key)
        if missing:
            self.misses += len(missing)
            pending = self._start(version, missing, read)
            waits[id(pending)] = pending
        for pending in waits.values():
            found = await self._wait(pending)
            out |= {k: found[k] for k in keys if k in found}
        return out

    def companion(self, value: object, make: Callable[[Any], C]) -> C | None:
        """The object kept beside a value this memo holds, made by `make(value)` the first
        time; None for a value it does not hold (then the caller makes its own)."""
        entry = self._by_identity.get(id(value))
        if entry is None or entry.value is not value:
            return None
        if entry.companion is None:
            entry.companion = make(value)
        companion: C = entry.companion
        return companion

    def _start(
        self,
        version: int,
        keys: list[Hashable],
        read: Callable[[list[Hashable]], Awaitable[Mapping[Hashable, Any]]],
    ) -> _Read:
        async def run() -> dict[Hashable, Any]:
            return dict(await read(keys))

        pending = _Read(asyncio.ensure_future(run()), keys=keys)
        for key in keys:
            self._reads[key] = pending
        pending.task.add_done_callback(lambda task: self._settle(version, pending, task))
        return pending

    async def _wait(self, pending: _Read) -> dict[Hashable, Any]:
        pending.waiters += 1
        try:
            return await asyncio.shield(pending.task)
        finally:
            pending.waiters -= 1
            if pending.waiters == 0 and not pending.task.done():
                pending.task.cancel()  # every request that wanted it is gone (e.g. timed out)

    def _settle(self, version: int, pending: _Read, task: asyncio.Task[Any]) -> None:
        for key in pending.keys:
            if self._reads.get(key) is pending:
                del self._reads[key]
        if task.cancelled() or task.exception() is not None or self._version != version:
            return  # nothing to keep (the requests waiting get the error or the value)
        if self._versions.current != version:
            return
        found = task.result()
        for key in pending.keys:
            self._keep(key, found.get(key, _ABSENT))

    def _keep(self, key: Hashable, value: Any) -> None:
        most = self._max_bytes // MAX_ENTRY_SHARE
        walk = most // DERIVED_FACTOR  # the walk stops once the value is known to be too big
        size = 64 if value is _ABSENT else estimate_bytes(value, walk) * DERIVED_FACTOR
        if size > most:
            return
        self._evict(key)
        entry = self._entries[key] = _Entry(value, size)
        if value is not _ABSENT and value is not None:
            self._by_identity[id(value)] = entry
        self.bytes += size
        while self.bytes > self._max_bytes:
            self._evict(next(iter(self._entries)))

    def _evict(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size
            if self._by_identity.get(id(entry.value)) is entry:
                del self._by_identity[id(entry.value)]

    def _drop_if_moved(self) -> None:
        version = self._versions.current
        if version == self._version:
            return
        # Reads in flight finish for the requests waiting on them, and keep nothing.
        self._version = version
        self._entries.clear()
        self._by_identity.clear()
        self._reads.clear()
        self.bytes = 0


def estimate_bytes(value: object, limit: int | None = None) -> int:
    """About what `value` takes in memory as Python objects (CPython 3.11, 64-bit): a dict
    entry with a short key about 100 bytes, an int 28. Walks it once, like reading it did;
    stops early (returning more than `limit`) once past `limit`."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            total += 64 + sum(100 + (len(k) if isinstance(k, str) else 28) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 56 + 8 * len(item)
            stack.extend(item)
        elif isinstance(item, str):
            total += 49 + len(item)
        elif dataclasses.is_dataclass(item):  # e.g. WeeklyHistory
            total += 56
            stack.extend(getattr(item, f.name) for f in dataclasses.fields(item))
        else:
            total += 28
        if limit is not None and total > limit:
            return total
    return total


class MemoReadModel:
    """A read model (services/read_model.py) whose reads of aggregates, rollups and weekly
    history are kept per data version in a `ReadMemo`; the postings and the stream clock are
    always read. Anything else the inner model offers is reached through it unchanged."""

    def __init__(self, inner: Any, memo: ReadMemo) -> None:
        self._inner = inner
        self.memo = memo

    def __getattr__(self, name: str) -> Any:
        # Reads this class does not keep (the drill-down's `postings()`, ...) go to the inner
        # model as they are. Only called for names not found on this object.
        return getattr(self._inner, name)

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        inner: ReadModel = self._inner

        keys: dict[Hashable, str] = {("role", slug): slug for slug in slugs}

        async def read(missing: list[Hashable]) -> dict[Hashable, Any]:
            docs = await inner.roles([keys[k] for k in missing])
            return {("role", slug): doc for slug, doc in docs.items()}

        found = await self.memo.get_many(list(keys), read)
        return {slug: found[key] for key, slug in keys.items() if key in found}

    async def market(self) -> MarketAggregateDoc:
        inner: ReadModel = self._inner
        doc: MarketAggregateDoc = await self.memo.get(("market",), inner.market)
        return doc

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        inner: ReadModel = self._inner
        key = ("weeks", tuple(slugs), per_role)
        history: WeeklyHistory = await self.memo.get(key, lambda: inner.role_weeks(slugs, per_role))
        return history

    async def ping(self) -> bool:
        inner: ReadModel = self._inner
        return await inner.ping()

    async def role_totals(self, slugs: Sequence[str]) -> dict[str, Counters]:
        inner: SliceModel = self._inner

        keys: dict[Hashable, str] = {("totals", slug): slug for slug in slugs}

        async def read(missing: list[Hashable]) -> dict[Hashable, Any]:
            totals = await inner.role_totals([keys[k] for k in missing])
            return {("totals", slug): counters for slug, counters in totals.items()}

        found = await self.memo.get_many(list(keys), read)
        return {slug: found[key] for key, slug in keys.items() if key in found}

    async def role_cells(self, slug: str, metros: Sequence[str | None] | None) -> list[Counters]:
        inner: SliceModel = self._inner
        key = ("cells", slug, None if metros is None else tuple(metros))
        cells: list[Counters] = await self.memo.get(key, lambda: inner.role_cells(slug, metros))
        return cells

    async def role_skill(self, slug: str, skill: str) -> Counters:
        inner: SliceModel = self._inner
        counters: Counters = await self.memo.get(
            ("skill", slug, skill), lambda: inner.role_skill(slug, skill)
        )
        return counters

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        inner: SliceModel = self._inner
        return await inner.counted_postings(queries, limit)

    async def stream_clock(self) -> datetime | None:
        inner: SliceModel = self._inner
        return await inner.stream_clock()

    async def metro_names(self) -> frozenset[str]:
        inner: SliceModel = self._inner
        names: frozenset[str] = await self.memo.get(("metro_names",), inner.metro_names)
        return names

    async def market_counts(
        self, companies: Sequence[str], skills: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        inner: SliceModel = self._inner
        key = ("market_counts", tuple(companies), tuple(skills))
        counts: tuple[dict[str, int], dict[str, int]] = await self.memo.get(
            key, lambda: inner.market_counts(companies, skills)
        )
        return counts

    async def shared(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """A value computed from kept reads (e.g. a filter's summed cells), kept alike."""
        return await self.memo.get(key, compute)

    def companion(self, value: object, make: Callable[[Any], C]) -> C | None:
        return self.memo.companion(value, make)
