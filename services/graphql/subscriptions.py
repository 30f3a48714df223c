"""Live updates: `roleUpdated` and `marketUpdated`, pushed over graphql-transport-ws.

What drives them is the data version (services/data_version.py), which every API instance follows
by itself (a change stream on the version document the consumer bumps in each commit that changes
a figure, or polling): no instance needs to hear from the consumer or from another instance.

How one change reaches the subscribers, in `LiveUpdates` (one per app):
- Subscriptions asking for the same thing (the same role and filter, or the market) share a
  *group*. On every change of the version, the hub re-resolves every group ONCE, all of them
  with one fresh per-version `Context`, so their role documents come in one `$in` read and the
  market document in one read, however many subscribers there are.
- Versions arriving while it resolves are coalesced: it resolves once more afterwards, at the
  newest version only.
- Each subscriber's own selection is then executed on its group's new value (a CPU-only step: the
  reads are done; fields that read lazily, like `weeklyTrend`, read through the shared
  per-version context, whose loaders serve every subscriber of that version), once per distinct
  selection (`LiveExecutor`): identical subscriptions share the execution too.
- The transport (services/websocket.py) sends a result only when it differs from the last one
  sent on that subscription (`payload_digest`): a commit that changes another role, or a figure
  this subscriber did not select, sends nothing.
- While the version is unknown (a database outage), nothing is resolved and nothing is sent;
  once it is known again every group is resolved and whatever changed meanwhile is pushed. A
  read that fails while the version is known is retried with backoff.
The first event of a subscription is the current value. A subscription ends (and its group
with its last member, and the hub's task with its last group) when the client completes it or
the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol, cast

import strawberry
from graphql import GraphQLError, print_ast
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from rolepulse.services.graphql import resolvers
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.errors import BadInputError
from rolepulse.services.graphql.filters import PostingFilter
from rolepulse.services.graphql.types import Market, Role

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.25  # a failed read is retried after this, doubling...
RETRY_MAX_S = 5.0  # ...up to this, while the version stays known

LIVE_UPDATES_OFF = "LIVE_UPDATES_UNAVAILABLE"

GroupKey = tuple[Hashable, ...]
Resolve = Callable[[Context], Awaitable[object]]


class VersionSource(Protocol):
    """What the hub needs of `DataVersion`: the version (None: unknown) and change callbacks."""

    @property
    def current(self) -> int | None: ...

    def on_change(self, listener: Callable[[], Any]) -> Callable[[], None]: ...


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """A group's value as read at `version`, with the context it was read through; or the
    client error resolving it raised (e.g. a filter naming an unknown metro)."""

    value: object
    context: Context | None
    version: int
    error: Exception | None = None
    # Results of executing selections on this value, by selection (LiveExecutor): subscribers
    # asking the very same thing share one execution.
    results: dict[Hashable, Any] = dataclasses.field(default_factory=dict)


class _Group:
    __slots__ = ("changed", "key", "members", "resolve", "snapshot")

    def __init__(self, key: GroupKey, resolve: Resolve) -> None:
        self.key = key
        self.resolve = resolve
        self.members = 0
        self.snapshot: Snapshot | None = None
        # Replaced on every publish: waiters hold the one current when they began to wait.
        self.changed = asyncio.Event()

    def publish(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()


class LiveUpdates:
    """The hub: groups of subscriptions, re-resolved on each change of the data version.

    Its task runs only while some subscription is open, so an API nobody subscribes to does no
    work for it.
    """

    def __init__(self, versions: VersionSource, make_context: Callable[[], Context]) -> None:
        self._versions = versions
        self._make_context = make_context
        self._groups: dict[GroupKey, _Group] = {}
        self._wake = asyncio.Event()  # made anew by each start, in the loop that runs the task
        self._task: asyncio.Task[None] | None = None
        self._unlisten: Callable[[], None] | None = None
        self.resolutions = 0  # group resolutions (reads) so far: tests and curiosity

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def groups(self) -> dict[GroupKey, int]:
        """Members per group key."""
        return {key: group.members for key, group in self._groups.items()}

    def watch(self, key: GroupKey, resolve: Resolve) -> Watch:
        """Join the group `key` (created with `resolve` if new); close the Watch to leave."""
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(key, resolve)
        group.members += 1
        self._start()
        if group.snapshot is None or group.snapshot.version != self._versions.current:
            self._wake.set()  # a new group, or one behind: resolve it now
        return Watch(self, group)

    def _leave(self, group: _Group) -> None:
        group.members -= 1
        if group.members == 0 and self._groups.get(group.key) is group:
            del self._groups[group.key]
        if not self._groups:
            self._stop()

    def _start(self) -> None:
        if self.running:
            return
        self._wake = asyncio.Event()
        self._unlisten = self._versions.on_change(self._wake.set)
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name="rolepulse-live-updates")

    def _stop(self) -> None:
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self._task is not None:
            # Not awaited: this runs in a closing subscription's cleanup, which must not wait on
            # a read. A cancelled read holds nothing (its loaders die with its context).
            self._task.cancel()
            self._task = None

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            version = self._versions.current
            if version is None:
                continue  # unknown (database outage): paused until on_change says it is known
            due = [
                g
                for g in self._groups.values()
                if g.snapshot is None or g.snapshot.version != version
            ]
            if not due:
                continue
            # One context per round: reads of all groups (and of subscribers' lazy fields) share
            # its loaders. Versions that arrive meanwhile set _wake: one more round, at the latest.
            context = self._make_context()
            outcomes = await asyncio.gather(
                *(self._resolve(g, context, version) for g in due), return_exceptions=True
            )
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            if not failed:
                failures = 0
                continue
            if failures == 0:
                log.warning("live updates: a read failed (%r); retrying", failed[0])
            failures += 1
            delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** (failures - 1))
            asyncio.get_running_loop().call_later(delay, self._wake.set)

    async def _resolve(self, group: _Group, context: Context, version: int) -> None:
        self.resolutions += 1
        try:
            value = await group.resolve(context)
        except (BadInputError, GraphQLError) as error:
            # The client's mistake, not the database's: its subscriptions end with it.
            group.publish(Snapshot(None, None, version, error))
            return
        group.publish(Snapshot(value, context, version))


class Watch:
    """One subscription's membership of a group: an async iterator of its group's snapshots.

    The first snapshot is the group's if it was read at the version current when the Watch was
    made, else the next one the hub publishes (never one read before the version moved: that
    would not be the current value); then each new one, skipping any the consumer of this
    iterator was too slow to take (only the newest matters).
    Closing is synchronous and idempotent, so a Watch dropped without `aclose` (its task
    cancelled between creation and iteration) still leaves its group when collected.
    """

    def __init__(self, hub: LiveUpdates, group: _Group) -> None:
        self._hub = hub
        self._group: _Group | None = group
        self._ready: Snapshot | None = None
        # The last snapshot taken; until the first, one that is too old to be taken.
        self._last = group.snapshot
        if group.snapshot is not None and group.snapshot.version == hub._versions.current:
            self._last = None  # the group's value is current: it is the first event

    def __aiter__(self) -> Watch:
        return self

    async def ready(self) -> None:
        """Wait for the first snapshot (raising its client error, if any) without taking it."""
        self._ready = await self._next()

    async def __anext__(self) -> Snapshot:
        if self._ready is not None:
            snapshot, self._ready = self._ready, None
            return snapshot
        return await self._next()

    async def _next(self) -> Snapshot:
        while True:
            group = self._group
            if group is None:
                raise StopAsyncIteration
            changed = group.changed
            snapshot = group.snapshot
            if snapshot is not None and snapshot is not self._last:
                self._last = snapshot
                if snapshot.error is not None:
                    raise snapshot.error
                return snapshot
            await changed.wait()

    def close(self) -> None:
        group, self._group = self._group, None
        if group is not None:
            self._hub._leave(group)

    async def aclose(self) -> None:
        self.close()

    def __del__(self) -> None:
        # A safety net only (the transport closes what it opens); never raise from a finalizer,
        # e.g. with the event loop already closed at shutdown.
        with contextlib.suppress(Exception):
            self.close()


class LiveExecutor(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, executing each subscription event with the context its value
    was read through (the hub's per-version one), not the connection's, and once per selection.

    A connection's context lives as long as its socket: its DataLoader caches would serve every
    later event the documents of the first. The per-version context is fresh each version and
    shared by every subscriber of it, so lazily read fields (`weeklyTrend`) read once for all.
    And since an event's result then depends on nothing but its snapshot and the selection
    (operation, fragments, variables), subscribers asking the very same thing of one snapshot
    share one execution: a thousand identical dashboards cost one per version, not a thousand.
    """

    _event: Snapshot | None = None
    _selection: Hashable = None

    def build_per_event_executor(self, payload: Any) -> Any:
        if not isinstance(payload, Snapshot):
            return super().build_per_event_executor(payload)
        # A copy of this executor (graphql-core copies it), so one of our own class.
        executor = cast(LiveExecutor, super().build_per_event_executor(payload.value))
        executor.context_value = payload.context
        executor._event = payload
        executor._selection = self._selection_key()
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        event = self._event
        if event is None:
            return super().execute_operation(serially)
        key = self._selection
        if key in event.results:
            shared = event.results[key]
            # An execution in flight is shielded: this subscriber leaving must not cancel it
            # for the others.
            return asyncio.shield(shared) if isinstance(shared, asyncio.Future) else shared
        # Not tied to the first subscriber's abort either: it is everyone's execution.
        self.abort_signal = None
        result = super().execute_operation(serially)
        if not self.is_awaitable(result):
            event.results[key] = result  # every field was ready: nothing to wait for
            return result
        task = asyncio.ensure_future(result)
        # Retrieved even when every subscriber that awaited it has left meanwhile.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
        event.results[key] = task
        return asyncio.shield(task)

    def _selection_key(self) -> Hashable:
        # Once per subscription (on its executor, not per event): the operation as printed,
        # the fragments it may spread and its variables' coerced values.
        key: Hashable = self.__dict__.get("_selection_cache")
        if key is None:
            fragments = sorted(print_ast(f) for f in self.fragment_definitions.values())
            variables = json.dumps(self.variable_values.coerced, sort_keys=True, default=str)
            key = (print_ast(self.operation), tuple(fragments), variables)
            self.__dict__["_selection_cache"] = key
        return key


def payload_digest(payload: Any) -> bytes:
    """What identifies a pushed result: its data and errors (not `extensions`, whose throttle
    status moves with the clock). Key order is the selection's, the same every time."""
    if not isinstance(payload, dict):
        return b""
    body = {"data": payload.get("data"), "errors": payload.get("errors")}
    return hashlib.blake2b(json.dumps(body, default=str).encode(), digest_size=16).digest()


def filter_key(posting_filter: PostingFilter | None) -> Hashable:
    """A filter as a hashable group key: equal filters (in any value order) share a group."""
    if posting_filter is None:
        return None
    key: list[tuple[str, Hashable]] = []
    for field in dataclasses.fields(posting_filter):
        value = getattr(posting_filter, field.name)
        if isinstance(value, list):
            value = tuple(sorted({v.value if isinstance(v, Enum) else v for v in value}))
        key.append((field.name, value))
    return tuple(key)


@dataclass(frozen=True, slots=True)
class _ResolveInfo:
    """The part of `strawberry.Info` the root resolvers read: the request's context.

    The hub resolves a group outside any one subscriber's execution (once for all of them), so
    it calls the same resolver functions as the `role` and `market` queries with this.
    """

    context: Context


def _info(context: Context) -> resolvers.Info:
    return cast(resolvers.Info, _ResolveInfo(context))


def _hub(context: Context) -> LiveUpdates:
    hub = context.live
    if not isinstance(hub, LiveUpdates):
        raise GraphQLError(
            "Live updates are not available on this server (it does not follow the data version)",
            extensions={"code": LIVE_UPDATES_OFF},
        )
    return hub


async def _subscribe(context: Context, key: GroupKey, resolve: Resolve) -> AsyncIterator[Any]:
    watch = _hub(context).watch(key, resolve)
    try:
        # Before the stream is handed over: a client error of the first read (an unknown name in
        # the filter) is then the subscription's `error` message rather than a `next`.
        await watch.ready()
    except BaseException:
        watch.close()
        raise
    return watch


Info = strawberry.Info[Context, None]


async def role_updated(
    info: Info, slug: str, filter: resolvers.FilterArgument = None
) -> AsyncIterator[Role]:
    context = info.context
    context.role_info(slug)  # an unknown slug is refused before anything is watched
    if filter is not None:
        filter.check()

    async def resolve(version_context: Context) -> object:
        return await _resolve_role(version_context, slug, filter)

    watch = await _subscribe(context, ("role", slug, filter_key(filter)), resolve)
    # The Watch yields Snapshots; LiveExecutor hands each one's Role to the selection.
    return cast(AsyncIterator[Role], watch)


async def market_updated(info: Info) -> AsyncIterator[Market]:
    async def resolve(version_context: Context) -> object:
        return await resolvers.market(_info(version_context))

    watch = await _subscribe(info.context, ("market",), resolve)
    return cast(AsyncIterator[Market], watch)


async def _resolve_role(context: Context, slug: str, posting_filter: PostingFilter | None) -> Role:
    """The same resolver as the `role` query: the same figures, filtered alike."""
    return await resolvers.role(_info(context), slug, posting_filter)


@strawberry.type(
    description="Live updates over graphql-transport-ws on /graphql. The first event is the "
    "current value; then one within a second of each commit that changes the selected fields, "
    "none for a commit that leaves them as they were."
)
class Subscription:
    role_updated: AsyncIterator[Role] = strawberry.subscription(
        resolver=role_updated,
        description="The role as `role(slug, filter)` answers it, each time the selected fields "
        "change.",
    )
    market_updated: AsyncIterator[Market] = strawberry.subscription(
        resolver=market_updated,
        description="The market totals as `market` answers them, each time the selected fields "
        "change.",
    )
