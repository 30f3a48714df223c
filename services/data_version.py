"""The API's view of the data version: pushed by a change stream, polled where there is none.

The consumer bumps one version number in the transaction of every batch that changes a figure;
the response cache serves a stored answer only while `DataVersion.current` equals the version it
was computed at, and serves nothing from memory while `current` is None (unknown).

How fast `current` follows a commit, i.e. how long a cached answer can be stale:
- **push** (default; needs change streams: a replica set, or SecantusDB): a change stream on the
  version document delivers each commit as it happens. The stream must also answer while idle
  (an empty await every `heartbeat_s`); if it stays silent for `max_stale_s` it is presumed dead,
  `current` becomes None (cache bypassed, so never stale) and it is reopened. So a response lags
  a commit by the stream's delivery time (milliseconds) when healthy and never by more than
  `max_stale_s` when it is not.
- **poll** (a standalone mongod, or push switched off): the version document is read every
  `interval_s`, so a response lags a commit by at most one interval plus one read.
After any error `current` is None until the version is known again.

Listeners (`on_change`) are called whenever `current` changes, None included: live updates
(services/graphql/subscriptions.py) re-resolve what their subscribers watch on each change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 2.0
OPEN_TIMEOUT_S = 10.0  # opening a stream; `current` is None meanwhile, so this bounds no staleness
MAX_HEARTBEAT_S = 1.0  # below the API client's 5 s operation timeout, which covers each getMore
MAX_BACKOFF_S = 5.0

ReadVersion = Callable[[], Awaitable[int | None]]
# Opens a stream of version notifications, given the heartbeat in seconds. Its first item (None)
# says the stream is open: every commit from then on is delivered. Then each item is the version
# after a commit, or None when the stream answered without news. It ends when the stream can no
# longer tell (e.g. the collection was dropped), and raises `PushUnavailableError` when the server
# has no change streams at all.
WatchVersion = Callable[[float], AsyncGenerator[int | None, None]]


class PushUnavailableError(Exception):
    """The server cannot push changes (change streams need a replica set)."""


class DataVersion:
    """The latest known data version, kept current by `run` until stopped."""

    def __init__(
        self,
        read: ReadVersion,
        interval_s: float,
        watch: WatchVersion | None = None,
        max_stale_s: float = 2.0,
    ) -> None:
        self._read = read
        self._interval_s = interval_s
        self._watch = watch
        self._max_stale_s = max_stale_s
        self._current: int | None = None  # None: unknown, so nothing is served from cache
        self._listeners: list[Callable[[], Any]] = []
        self.mode = "push" if watch is not None else "poll"

    @property
    def current(self) -> int | None:
        return self._current

    @current.setter
    def current(self, version: int | None) -> None:
        if version == self._current:
            return  # a poll or a heartbeat that found nothing new: nobody needs waking
        self._current = version
        for listener in tuple(self._listeners):  # a listener may remove itself
            listener()

    def on_change(self, listener: Callable[[], Any]) -> Callable[[], None]:
        """Call `listener` (synchronously, so it must not block) after every change of
        `current`; returns the function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the change stream; poll instead if the server has none."""
        if self._watch is not None:
            try:
                await self._follow(self._watch, stop)
            except PushUnavailableError as exc:
                log.warning("no change streams (%s); polling the data version instead", exc)
                self.mode = "poll"
        await self.poll(stop)

    async def poll(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.current = await self._read()
            except Exception:  # a database hiccup must not stop polling
                if self.current is not None:
                    log.warning("data version poll failed; cache bypassed until it recovers")
                self.current = None
            await _sleep_unless(stop, self._interval_s)

    async def _follow(self, watch: WatchVersion, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                if await self._follow_stream(watch, stop):
                    failures = 0  # it worked for a while: the next failure starts a new backoff
            except PushUnavailableError:
                self.current = None
                raise
            except Exception as exc:  # the stream or the read failed: reopen it, with backoff
                if failures == 0:
                    log.warning("data version stream failed (%r); cache bypassed, reopening", exc)
            self.current = None  # ended or failed: unknown until the next stream is open
            failures += 1
            await _sleep_unless(stop, min(MAX_BACKOFF_S, 0.05 * 2**failures))

    async def _follow_stream(self, watch: WatchVersion, stop: asyncio.Event) -> bool:
        """Follow one stream until it ends (False if it ended before delivering anything)."""
        heartbeat_s = min(MAX_HEARTBEAT_S, self._max_stale_s / 2)
        stream = watch(heartbeat_s)
        try:
            await asyncio.wait_for(anext(stream), OPEN_TIMEOUT_S)
            # Read only once the stream is open, so no commit falls between the read and the stream.
            self.current = await self._read()
            delivered = False
            while not stop.is_set():
                try:
                    version = await asyncio.wait_for(anext(stream), self._max_stale_s)
                except StopAsyncIteration:
                    return delivered
                delivered = True
                if version is not None:
                    # A commit between the stream's opening and our read arrives after the read:
                    # never step back to it. (A reset version ends the stream, see the adapter.)
                    current = self.current
                    self.current = version if current is None else max(current, version)
            return delivered
        finally:
            with contextlib.suppress(Exception):
                await stream.aclose()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Keep `current` up to date for the duration of the block."""
        stop = asyncio.Event()
        task = asyncio.create_task(self.run(stop))
        try:
            yield
        finally:
            # A flag, not only cancel(): a read stuck in server selection may not honour a
            # cancellation promptly, and shutdown must not wait on it for long.
            stop.set()
            task.cancel()
            await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
