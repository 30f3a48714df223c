"""Live updates without a database: the hub's fan-out over a fake version source, then the whole
path (uvicorn in this process, the `gql` client over a real websocket) over a fake read model.

The version source is set by hand, as the consumer's commits would move it; "within a second"
is asserted against a real database in tests/e2e/test_live_updates.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import Any

import pytest
import uvicorn
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.data_version import DataVersion
from rolepulse.services.graphql.context import Context, build_context
from rolepulse.services.graphql.errors import BadInputError
from rolepulse.services.graphql.subscriptions import (
    LiveExecutor,
    LiveUpdates,
    Snapshot,
    Watch,
    filter_key,
)
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

TAXONOMY = {slug: RoleInfo(slug, slug.upper(), "focus", ("Staff",)) for slug in ("llm", "cv", "pm")}
QUIET_S = 0.3  # no message within this after a version that changed nothing selected


class FakeVersions:
    """A data version moved by hand; listeners are called on each change, like DataVersion's."""

    def __init__(self, version: int | None = 1) -> None:
        self._current = version
        self.listeners: list[Callable[[], Any]] = []

    @property
    def current(self) -> int | None:
        return self._current

    def set(self, version: int | None) -> None:
        self._current = version
        for listener in list(self.listeners):
            listener()

    def on_change(self, listener: Callable[[], Any]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)


class Store:
    """The figures a resolve returns, the versions it was called at, and a gate to hold it."""

    def __init__(self, versions: FakeVersions) -> None:
        self.versions = versions
        self.values: dict[str, object] = {}
        self.calls: list[tuple[str, int | None]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    def resolver(self, key: str) -> Callable[[Context], Any]:
        async def resolve(_: Context) -> object:
            self.calls.append((key, self.versions.current))
            await self.gate.wait()
            if self.fail is not None:
                raise self.fail
            return self.values.get(key)

        return resolve


class NoReads:
    """Contexts the hub makes; its resolvers here never read through them."""

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        raise AssertionError("not read")

    async def market(self) -> MarketAggregateDoc:
        raise AssertionError("not read")

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        raise AssertionError("not read")

    async def ping(self) -> bool:
        return True


def hub_over(versions: FakeVersions) -> LiveUpdates:
    return LiveUpdates(versions, lambda: build_context(NoReads(), TAXONOMY))


async def take(watch: Watch, within_s: float = 2.0) -> Snapshot:
    return await asyncio.wait_for(anext(watch), within_s)


async def nothing_from(watch: Watch) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(watch), QUIET_S)


async def test_subscribers_of_the_same_thing_share_one_read_per_version() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    store.values = {"llm": "llm@1", "cv": "cv@1"}
    hub = hub_over(versions)
    llm = [hub.watch(("llm",), store.resolver("llm")) for _ in range(5)]
    cv = hub.watch(("cv",), store.resolver("cv"))
    assert [(await take(w)).value for w in llm] == ["llm@1"] * 5
    assert (await take(cv)).value == "cv@1"
    assert sorted(store.calls) == [("cv", 1), ("llm", 1)]
    assert hub.groups() == {("llm",): 5, ("cv",): 1}

    store.values = {"llm": "llm@2", "cv": "cv@2"}
    versions.set(2)
    assert [(await take(w)).value for w in llm] == ["llm@2"] * 5
    assert (await take(cv)).value == "cv@2"
    assert sorted(store.calls) == [("cv", 1), ("cv", 2), ("llm", 1), ("llm", 2)]

    # A late subscriber of a group read at the current version gets that read: no new one.
    late = hub.watch(("llm",), store.resolver("llm"))
    assert (await take(late)).value == "llm@2"
    assert len(store.calls) == 4
    for watch in [*llm, cv, late]:
        watch.close()


async def test_a_burst_of_versions_is_resolved_once_more_at_the_newest() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    hub = hub_over(versions)
    watch = hub.watch(("llm",), store.resolver("llm"))
    await take(watch)
    store.gate.clear()  # the read at version 2 hangs while 3, 4 and 5 are committed
    versions.set(2)
    await asyncio.sleep(0.05)
    for version in (3, 4, 5):
        versions.set(version)
    store.values = {"llm": "newest"}
    store.gate.set()
    # The slow read's result may be skipped (only the newest matters to a slow consumer).
    snapshot = await take(watch)
    if snapshot.version != 5:
        snapshot = await take(watch)
    assert (snapshot.value, snapshot.version) == ("newest", 5)
    assert store.calls == [("llm", 1), ("llm", 2), ("llm", 5)]
    watch.close()


async def test_a_late_subscriber_gets_no_stale_value_and_is_not_starved_by_commits() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    store.values = {"llm": "at 1"}
    hub = hub_over(versions)
    early = hub.watch(("llm",), store.resolver("llm"))
    await take(early)
    store.gate.clear()
    store.values = {"llm": "later"}
    versions.set(2)  # its read hangs
    await asyncio.sleep(0.05)
    late = hub.watch(("llm",), store.resolver("llm"))  # the group's value (at 1) is behind
    versions.set(3)  # and the version keeps moving while that read runs
    first = asyncio.ensure_future(take(late))
    await asyncio.sleep(0.05)
    assert not first.done()  # not the value read at 1
    store.gate.set()
    snapshot = await first
    assert (snapshot.value, snapshot.version) in {("later", 2), ("later", 3)}
    early.close()
    late.close()


async def test_an_outage_pauses_and_the_recovery_pushes_what_changed() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    store.values = {"llm": "before"}
    hub = hub_over(versions)
    watch = hub.watch(("llm",), store.resolver("llm"))
    assert (await take(watch)).value == "before"
    versions.set(None)  # the data version's stream failed: unknown
    store.fail = ConnectionError("mongo down")
    await nothing_from(watch)
    assert store.calls == [("llm", 1)]  # nothing read while the version is unknown
    store.fail = None
    store.values = {"llm": "after"}
    versions.set(3)
    snapshot = await take(watch)
    assert (snapshot.value, snapshot.version) == ("after", 3)
    watch.close()


async def test_a_failed_read_is_retried_while_the_version_is_known() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    store.values = {"llm": "first"}
    hub = hub_over(versions)
    watch = hub.watch(("llm",), store.resolver("llm"))
    await take(watch)
    store.fail = ConnectionError("a blip")
    versions.set(2)
    await asyncio.sleep(0.05)
    store.fail = None
    store.values = {"llm": "second"}
    assert (await take(watch)).value == "second"  # the retry, with no new version
    assert store.calls[-1] == ("llm", 2)
    assert len(store.calls) == 3
    watch.close()


async def test_a_subscriber_joining_during_an_outage_waits_for_the_current_value() -> None:
    versions = FakeVersions(None)
    store = Store(versions)
    store.values = {"llm": "value"}
    hub = hub_over(versions)
    watch = hub.watch(("llm",), store.resolver("llm"))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(watch.ready(), QUIET_S)
    versions.set(4)
    snapshot = await take(watch)
    assert (snapshot.value, snapshot.version) == ("value", 4)
    watch.close()


async def test_a_client_error_of_the_read_ends_the_subscription() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    store.fail = BadInputError("filter.metros: 'Atlantis' is not a metro")
    hub = hub_over(versions)
    watch = hub.watch(("llm", "atlantis"), store.resolver("llm"))
    with pytest.raises(BadInputError, match="Atlantis"):
        await asyncio.wait_for(watch.ready(), 2)
    watch.close()
    assert hub.groups() == {}


async def test_the_last_subscriber_leaving_stops_the_hub() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    hub = hub_over(versions)
    watches = [hub.watch(("llm",), store.resolver("llm")) for _ in range(3)]
    await take(watches[0])
    assert hub.running
    assert len(versions.listeners) == 1
    for watch in watches:
        watch.close()
        watch.close()  # idempotent
    assert hub.groups() == {}
    assert not hub.running
    assert versions.listeners == []
    # Its task is cancelled, not left behind.
    await asyncio.sleep(0)
    live = [t for t in asyncio.all_tasks() if t.get_name() == "rolepulse-live-updates"]
    assert all(t.done() for t in live)


async def test_a_dropped_watch_leaves_its_group() -> None:
    versions = FakeVersions(1)
    store = Store(versions)
    hub = hub_over(versions)
    watch = hub.watch(("llm",), store.resolver("llm"))
    assert hub.groups() == {("llm",): 1}
    del watch  # never iterated nor closed (its task was cancelled before that)
    assert hub.groups() == {}
    assert not hub.running


def test_equal_filters_share_a_group_in_any_order() -> None:
    from rolepulse.domain.model import Seniority
    from rolepulse.services.graphql.filters import PostingFilter

    one = PostingFilter(metros=["Austin", "Boston"], seniorities=[Seniority.SENIOR])
    two = PostingFilter(metros=["Boston", "Austin"], seniorities=[Seniority.SENIOR])
    other = PostingFilter(metros=["Boston"])
    assert filter_key(one) == filter_key(two) != filter_key(other)
    assert filter_key(None) != filter_key(PostingFilter())
    hash(filter_key(one))


# --- the whole path: uvicorn in this process, gql over a real websocket --------------------------


class FakeReadModel:
    """Role and market documents set by the test; counts the role reads."""

    def __init__(self) -> None:
        self.docs: dict[str, RoleAggregateDoc] = {
            "llm": {"open": 3, "salary": {"n": 0}},
            "cv": {"open": 5},
        }
        self.market_doc: MarketAggregateDoc = {"open_ai": 8}
        self.role_reads = 0
        self.down = False
        self.weeks_down = False

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        self.role_reads += 1
        if self.down:
            raise ConnectionError("mongo down")
        return {s: self.docs[s] for s in slugs if s in self.docs}

    async def market(self) -> MarketAggregateDoc:
        if self.down:
            raise ConnectionError("mongo down")
        return self.market_doc

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        if self.weeks_down:
            raise ConnectionError("mongo went down after the role was read")
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return not self.down


class Server:
    def __init__(self, store: FakeReadModel, version: DataVersion, url: str) -> None:
        self.store = store
        self.version = version
        self.url = url

    def commit(self, **docs: RoleAggregateDoc) -> None:
        """What a consumer commit does, as the API sees it: new documents, a new version."""
        self.store.docs.update(docs)
        current = self.version.current
        self.version.current = (current or 0) + 1

    def client(self) -> Client:
        transport = WebsocketsTransport(
            url=self.url,
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
            # Its clean close waits this long for subscriptions the test left open.
            close_timeout=1,
        )
        return Client(transport=transport)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def serving(**settings: Any) -> AsyncIterator[Server]:
    store = FakeReadModel()
    version = DataVersion(lambda: asyncio.sleep(0, 1), 3600)  # moved by hand: never run
    version.current = 1
    app = create_app(store, TAXONOMY, ApiSettings(**settings), data_version=version)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws="websockets-sansio", lifespan="off", log_level="error"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        yield Server(store, version, f"ws://127.0.0.1:{port}/graphql")
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


ROLE = GraphQLRequest(
    "subscription ($slug: String!) { roleUpdated(slug: $slug) { slug openPositions } }",
    variable_values={"slug": "llm"},
)


async def within(check: Callable[[], bool], seconds: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not within time"
        await asyncio.sleep(0.01)


@pytest.fixture
def hubs(monkeypatch: pytest.MonkeyPatch) -> list[LiveUpdates]:
    """Every hub created in the test (the app's), to look at its groups."""
    created: list[LiveUpdates] = []
    original = LiveUpdates.__init__

    def record(self: LiveUpdates, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        created.append(self)

    monkeypatch.setattr(LiveUpdates, "__init__", record)
    return created


async def test_only_changes_of_the_selection_are_pushed(hubs: list[LiveUpdates]) -> None:
    async with serving() as server, server.client() as session:
        stream = session.subscribe(ROLE)
        first = await asyncio.wait_for(anext(stream), 5)
        assert first == {"roleUpdated": {"slug": "llm", "openPositions": 3}}
        server.commit(cv={"open": 6})  # another role
        server.commit(llm={"open": 3, "salary": {"n": 1}})  # a field not selected
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(nxt := asyncio.ensure_future(anext(stream))), 0.5)
        server.commit(llm={"open": 4})
        assert await asyncio.wait_for(nxt, 2) == {
            "roleUpdated": {"slug": "llm", "openPositions": 4}
        }
        await stream.aclose()  # gql sends `complete`
        [hub] = hubs
        await within(lambda: hub.groups() == {} and not hub.running)


async def test_many_subscribers_share_one_read_per_version(hubs: list[LiveUpdates]) -> None:
    async with serving() as server, AsyncExitStack() as connections:
        # Eight connections, as eight dashboards would hold.
        sessions = [await connections.enter_async_context(server.client()) for _ in range(8)]
        streams = [s.subscribe(ROLE) for s in sessions]
        market = sessions[0].subscribe(
            GraphQLRequest("subscription { marketUpdated { openPositions } }")
        )
        await asyncio.gather(*(asyncio.wait_for(anext(s), 5) for s in streams))
        await asyncio.wait_for(anext(market), 5)
        [hub] = hubs
        assert hub.groups() == {("role", "llm", None): 8, ("market",): 1}
        reads = server.store.role_reads
        server.commit(llm={"open": 9})
        updates = await asyncio.gather(*(asyncio.wait_for(anext(s), 5) for s in streams))
        assert {u["roleUpdated"]["openPositions"] for u in updates} == {9}
        assert server.store.role_reads == reads + 1  # one read for eight subscribers
        for stream in [*streams, market]:
            await stream.aclose()
        await within(lambda: hub.groups() == {} and not hub.running)


async def test_identical_subscriptions_share_one_execution(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    executed: list[object] = []
    original = StrawberryGraphQLCoreExecutionContext.execute_operation

    def counted(self: LiveExecutor, serially: bool | None = None) -> Any:
        if self._event is not None:
            executed.append(self._event.version)
        return original(self, serially)

    monkeypatch.setattr(StrawberryGraphQLCoreExecutionContext, "execute_operation", counted)
    other = GraphQLRequest('subscription { roleUpdated(slug: "llm") { openPositions title } }')
    async with serving() as server, AsyncExitStack() as connections:
        sessions = [await connections.enter_async_context(server.client()) for _ in range(6)]
        streams = [s.subscribe(ROLE) for s in sessions] + [sessions[0].subscribe(other)]
        await asyncio.gather(*(asyncio.wait_for(anext(s), 5) for s in streams))
        executed.clear()
        server.commit(llm={"open": 9})
        updates = await asyncio.gather(*(asyncio.wait_for(anext(s), 5) for s in streams))
        assert [u["roleUpdated"]["openPositions"] for u in updates] == [9] * 7
        assert executed == [2, 2]  # one per distinct selection, for seven subscribers
        for stream in streams:
            await stream.aclose()


async def test_a_disconnect_ends_the_subscriptions(hubs: list[LiveUpdates]) -> None:
    async with serving() as server:
        client = server.client()
        with suppress(Exception):  # gql's close after the drop may complain; not our concern
            async with client as session:
                stream = session.subscribe(ROLE)
                await asyncio.wait_for(anext(stream), 5)
                [hub] = hubs
                assert hub.groups() == {("role", "llm", None): 1}
                # The socket drops without `complete` (gql's close sends one per subscription).
                assert isinstance(client.transport, WebsocketsTransport)
                await client.transport.adapter.close()
                await within(lambda: hub.groups() == {} and not hub.running)
        assert hub.groups() == {}


async def test_an_outage_pauses_pushing_and_recovery_resumes_it() -> None:
    async with serving() as server, server.client() as session:
        stream = session.subscribe(ROLE)
        await asyncio.wait_for(anext(stream), 5)
        server.store.down = True
        server.version.current = None  # what the data version says while the database is down
        nxt = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(QUIET_S)
        assert not nxt.done()
        server.store.down = False
        server.store.docs["llm"] = {"open": 7}
        server.version.current = 5
        assert await asyncio.wait_for(nxt, 2) == {
            "roleUpdated": {"slug": "llm", "openPositions": 7}
        }


async def test_a_result_that_failed_inside_does_not_replace_the_last_good_one() -> None:
    request = GraphQLRequest(
        'subscription { roleUpdated(slug: "llm") { openPositions weeklyTrend { week } } }'
    )
    async with serving() as server, server.client() as session:
        stream = session.subscribe(request)
        assert await asyncio.wait_for(anext(stream), 5) == {
            "roleUpdated": {"openPositions": 3, "weeklyTrend": []}
        }
        # The hub's read works, the lazily read trend does not: a masked internal error.
        server.store.weeks_down = True
        server.commit(llm={"open": 4})
        nxt = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(QUIET_S)
        assert not nxt.done()
        server.store.weeks_down = False
        server.commit(llm={"open": 5})
        assert await asyncio.wait_for(nxt, 2) == {
            "roleUpdated": {"openPositions": 5, "weeklyTrend": []}
        }


async def test_an_unknown_slug_is_an_error_message() -> None:
    async with serving() as server, server.client() as session:
        request = GraphQLRequest('subscription { roleUpdated(slug: "nope") { slug } }')
        with pytest.raises(TransportQueryError) as raised:
            await asyncio.wait_for(anext(session.subscribe(request)), 5)
    assert raised.value.errors is not None
    assert raised.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_subscriptions_per_connection_are_limited() -> None:
    async with serving(ws_max_subscriptions=2) as server, server.client() as session:
        first, second = session.subscribe(ROLE), session.subscribe(ROLE)
        await asyncio.wait_for(anext(first), 5)
        await asyncio.wait_for(anext(second), 5)
        with pytest.raises(TransportQueryError, match="Subscription limit reached"):
            await asyncio.wait_for(anext(session.subscribe(ROLE)), 5)


async def test_a_subscription_is_priced_and_refused_over_the_budget() -> None:
    heavy = GraphQLRequest(
        'subscription { roleUpdated(slug: "llm") { topSkills(limit: 100) { name count } } }'
    )
    async with serving(max_query_cost=100) as server, server.client() as session:
        with pytest.raises(TransportQueryError) as raised:
            await asyncio.wait_for(anext(session.subscribe(heavy)), 5)
    assert raised.value.errors is not None
    assert raised.value.errors[0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_each_subscribe_is_charged_to_the_clients_bucket() -> None:
    # ROLE costs 3 points; a bucket of 7 that (nearly) never refills admits two of them.
    settings = {
        "rate_limit": True,
        "max_query_cost": 7,
        "rate_limit_bucket": 7,
        "rate_limit_restore_per_s": 0.001,
    }
    async with serving(**settings) as server, server.client() as session:
        await asyncio.wait_for(anext(session.subscribe(ROLE)), 5)
        await asyncio.wait_for(anext(session.subscribe(ROLE)), 5)
        with pytest.raises(TransportQueryError) as raised:
            await asyncio.wait_for(anext(session.subscribe(ROLE)), 5)
    assert raised.value.errors is not None
    assert raised.value.errors[0]["extensions"]["code"] == "THROTTLED"


async def test_queries_are_still_sent_to_http() -> None:
    async with serving() as server, server.client() as session:
        with pytest.raises(TransportQueryError, match="HTTP POST"):
            await asyncio.wait_for(anext(session.subscribe(GraphQLRequest("{ __typename }"))), 5)
