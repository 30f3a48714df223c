"""Reads kept per data version (services/read_memo.py), over a fake version and read model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.derived import DerivedFigures
from rolepulse.services.read_memo import MemoReadModel, ReadMemo, estimate_bytes


class FakeVersion:
    def __init__(self, current: int | None = 1) -> None:
        self._current = current
        self._listeners: list[Callable[[], Any]] = []

    @property
    def current(self) -> int | None:
        return self._current

    def move(self, version: int | None) -> None:
        self._current = version
        for listener in self._listeners:
            listener()

    def on_change(self, listener: Callable[[], Any]) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)


class FakeModel:
    """Role documents that change between reads (so a kept one is told from a fresh one)."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, ...]] = []
        self.gate: asyncio.Event | None = None

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        self.reads.append(tuple(slugs))
        if self.gate is not None:
            await self.gate.wait()
        n = len(self.reads)
        return {s: RoleAggregateDoc(open=n) for s in slugs if s != "nobody"}

    async def market(self) -> MarketAggregateDoc:
        self.reads.append(("market",))
        return MarketAggregateDoc(open_ai=len(self.reads))

    def postings(self) -> str:
        return "the drill-down's reads"


@pytest.fixture
def version() -> FakeVersion:
    return FakeVersion()


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


def memo_model(model: FakeModel, version: FakeVersion, max_bytes: int = 10**6) -> MemoReadModel:
    return MemoReadModel(model, ReadMemo(version, max_bytes))


async def test_reads_once_per_version(model: FakeModel, version: FakeVersion) -> None:
    memo = memo_model(model, version)
    first = await memo.roles(["a", "b"])
    assert await memo.roles(["b", "a"]) == first
    assert (await memo.roles(["b"]))["b"] is first["b"]  # the very object: derived figures stay
    assert model.reads == [("a", "b")]
    version.move(2)
    assert (await memo.roles(["a"]))["a"]["open"] == 2
    assert model.reads == [("a", "b"), ("a",)]


async def test_only_missing_keys_are_read_and_absent_ones_are_remembered(
    model: FakeModel, version: FakeVersion
) -> None:
    memo = memo_model(model, version)
    await memo.roles(["a"])
    assert await memo.roles(["a", "nobody", "b"]) == {
        "a": RoleAggregateDoc(open=1),
        "b": RoleAggregateDoc(open=2),
    }
    assert await memo.roles(["nobody"]) == {}
    assert model.reads == [("a",), ("nobody", "b")]


async def test_unknown_version_reads_every_time_and_keeps_nothing(model: FakeModel) -> None:
    version = FakeVersion(None)
    memo = memo_model(model, version)
    await memo.market()
    await memo.market()
    assert len(model.reads) == 2
    version.move(5)
    await memo.market()
    await memo.market()
    assert len(model.reads) == 3


async def test_off_when_the_budget_is_zero(model: FakeModel, version: FakeVersion) -> None:
    memo = memo_model(model, version, max_bytes=0)
    await memo.market()
    await memo.market()
    assert len(model.reads) == 2


async def test_concurrent_requests_share_one_read(model: FakeModel, version: FakeVersion) -> None:
    memo = memo_model(model, version)
    model.gate = asyncio.Event()
    waiting = [asyncio.ensure_future(memo.roles(["a", "b"])) for _ in range(5)]
    waiting.append(asyncio.ensure_future(memo.roles(["b"])))
    await asyncio.sleep(0)
    model.gate.set()
    results = await asyncio.gather(*waiting)
    assert model.reads == [("a", "b")]
    assert all(r["b"] is results[0]["b"] for r in results)


async def test_a_read_that_ends_after_the_version_moved_is_not_kept(
    model: FakeModel, version: FakeVersion
) -> None:
    memo = memo_model(model, version)
    model.gate = asyncio.Event()
    old = asyncio.ensure_future(memo.roles(["a"]))
    await asyncio.sleep(0)
    version.move(2)
    model.gate.set()
    assert (await old)["a"]["open"] == 1  # answered to its request...
    assert (await memo.roles(["a"]))["a"]["open"] == 2  # ...not kept for version 2
    assert len(model.reads) == 2


async def test_a_read_nobody_waits_for_is_cancelled(model: FakeModel, version: FakeVersion) -> None:
    memo = memo_model(model, version)
    model.gate = asyncio.Event()
    waiter = asyncio.ensure_future(memo.roles(["a"]))
    await asyncio.sleep(0)
    pending = next(iter(memo.memo._reads.values())).task
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    assert pending.cancelled()
    model.gate.set()
    assert (await memo.roles(["a"]))["a"]["open"] == 2  # read anew, not from the cancelled one


async def test_failed_reads_are_not_kept(version: FakeVersion) -> None:
    calls = 0

    async def failing() -> int:
        nonlocal calls
        calls += 1
        raise RuntimeError("down")

    memo = ReadMemo(version)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await memo.get("k", failing)
    assert calls == 2


async def test_bounded_in_bytes_least_recently_used_out(version: FakeVersion) -> None:
    value = {"k": 1}
    size = estimate_bytes(value) * 2
    memo = ReadMemo(version, max_bytes=size * 8)  # eight values, each at most an eighth
    reads: list[str] = []

    def reader(key: str) -> Callable[[], Any]:
        async def read() -> dict[str, int]:
            reads.append(key)
            return dict(value)

        return read

    for key in [*"abcdefgh", "a", "i", "a", "b"]:
        await memo.get(key, reader(key))
    # "b" went out for "i" ("a" was used since), so it is read again.
    assert reads == [*"abcdefgh", "i", "b"]
    assert memo.bytes <= size * 8
    huge = {str(i): i for i in range(5_000)}
    calls = 0

    async def read_huge() -> dict[str, int]:
        nonlocal calls
        calls += 1
        return huge

    await memo.get("huge", read_huge)
    await memo.get("huge", read_huge)
    assert calls == 2  # larger than an eighth of the budget: never kept


async def test_companions_live_with_the_kept_value(model: FakeModel, version: FakeVersion) -> None:
    memo = memo_model(model, version)
    doc = (await memo.roles(["a"]))["a"]
    derived = memo.companion(doc, DerivedFigures)
    assert derived is not None
    assert memo.companion(doc, DerivedFigures) is derived
    assert memo.companion(RoleAggregateDoc(open=1), DerivedFigures) is None  # not kept
    version.move(2)
    assert memo.companion(doc, DerivedFigures) is None


async def test_other_reads_pass_through(model: FakeModel, version: FakeVersion) -> None:
    assert memo_model(model, version).postings() == "the drill-down's reads"
