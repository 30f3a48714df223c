"""DataVersion without a database: a fake change stream and a fake version document."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable

import pytest

from rolepulse.services.data_version import DataVersion, PushUnavailableError

END = object()  # put on a stream: it ends (as after a dropped collection)


class FakeDocument:
    """The version document: `read` counts how often it is read."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.reads = 0
        self.fail = False

    async def read(self) -> int | None:
        self.reads += 1
        if self.fail:
            raise ConnectionError("mongo down")
        return self.version


class FakeStreams:
    """Each `watch` opens a stream fed by `push`; `unavailable` makes opening fail for good."""

    def __init__(self, unavailable: bool = False) -> None:
        self.unavailable = unavailable
        self.opened: list[asyncio.Queue[object]] = []
        self.heartbeats: list[float] = []

    async def watch(self, heartbeat_s: float) -> AsyncGenerator[int | None, None]:
        self.heartbeats.append(heartbeat_s)
        if self.unavailable:
            raise PushUnavailableError("standalone server")
        queue: asyncio.Queue[object] = asyncio.Queue()
        self.opened.append(queue)
        yield None
        while True:
            item = await queue.get()
            if item is END:
                return
            if isinstance(item, Exception):
                raise item
            assert item is None or isinstance(item, int)
            yield item

    def push(self, item: object) -> None:
        self.opened[-1].put_nowait(item)


async def eventually(check: Callable[[], bool], within_s: float = 2.0) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        await asyncio.sleep(0.005)


async def test_pushed_versions_are_followed_without_polling() -> None:
    doc, streams = FakeDocument(5), FakeStreams()
    version = DataVersion(doc.read, interval_s=3600, watch=streams.watch, max_stale_s=60)
    async with version.running():
        await eventually(lambda: version.current == 5)
        streams.push(6)
        await eventually(lambda: version.current == 6)
        streams.push(None)  # an idle heartbeat changes nothing
        streams.push(7)
        await eventually(lambda: version.current == 7)
    assert doc.reads == 1  # the read after opening; every later version came by push
    assert version.mode == "push"
    assert streams.heartbeats == [1.0]


async def test_a_commit_between_opening_and_reading_never_steps_back() -> None:
    doc, streams = FakeDocument(9), FakeStreams()
    version = DataVersion(doc.read, interval_s=3600, watch=streams.watch, max_stale_s=60)
    async with version.running():
        await eventually(lambda: version.current == 9)
        streams.push(8)  # committed after the stream opened, before the read returned 9
        streams.push(9)
        streams.push(10)
        await eventually(lambda: version.current == 10)


async def test_without_change_streams_it_polls() -> None:
    doc, streams = FakeDocument(1), FakeStreams(unavailable=True)
    version = DataVersion(doc.read, interval_s=0.01, watch=streams.watch)
    async with version.running():
        await eventually(lambda: version.current == 1)
        doc.version = 2
        await eventually(lambda: version.current == 2)
    assert version.mode == "poll"


async def test_a_silent_stream_bypasses_the_cache_and_is_reopened() -> None:
    doc, streams = FakeDocument(3), FakeStreams()
    version = DataVersion(doc.read, interval_s=3600, watch=streams.watch, max_stale_s=0.1)
    async with version.running():
        await eventually(lambda: version.current == 3)
        seen_none = False
        started = time.monotonic()
        # Nothing is pushed, not even heartbeats: within max_stale_s the version is unknown.
        while not seen_none:
            seen_none = version.current is None
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(0.005)
        await eventually(lambda: len(streams.opened) >= 2 and version.current == 3)
    assert streams.heartbeats[0] == pytest.approx(0.05)


async def test_a_failed_stream_is_resumed_and_the_version_reread() -> None:
    doc, streams = FakeDocument(3), FakeStreams()
    version = DataVersion(doc.read, interval_s=3600, watch=streams.watch, max_stale_s=60)
    async with version.running():
        await eventually(lambda: version.current == 3)
        doc.fail = True
        streams.push(ConnectionError("stream lost"))
        await eventually(lambda: version.current is None)
        doc.version, doc.fail = 4, False  # committed while the stream was down
        await eventually(lambda: version.current == 4)
    assert len(streams.opened) >= 2


async def test_an_ended_stream_rereads_even_a_lower_version() -> None:
    doc, streams = FakeDocument(40), FakeStreams()
    version = DataVersion(doc.read, interval_s=3600, watch=streams.watch, max_stale_s=60)
    async with version.running():
        await eventually(lambda: version.current == 40)
        doc.version = 1  # the database was dropped and the consumer started over
        streams.push(END)
        await eventually(lambda: version.current == 1)
