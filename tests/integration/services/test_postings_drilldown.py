"""The drill-down against a real SecantusDB: every query shape is an index scan, pages
concatenate to exactly the filtered set while postings change between them, and over HTTP the
connection agrees with the figures (a market written by the consumer's own store)."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from rolepulse.consumers.store import Delivered, MongoBatchStore
from rolepulse.demo.synthetic_postings import (
    START,
    MarketShape,
    company_name,
    posting_docs,
    posting_state,
)
from rolepulse.domain.filters import NO_FILTER, PostingFilter
from rolepulse.domain.lifecycle import Closed, Observed
from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.domain.salary import IMPLAUSIBLE_FLAG
from rolepulse.schema.postings_indexes import DRILL_DOWN_INDEXES, IndexSpec
from rolepulse.services.main import build_app
from rolepulse.services.postings_query import (
    ANNUAL_MAX,
    FIRST_SEEN,
    POSTING_ID,
    Cursor,
    PostingOrder,
    ScanPlan,
    choose_plan,
    time_key,
    window_query,
)
from rolepulse.services.postings_read import MongoPostings, read_page
from rolepulse.settings import ApiSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

Doc = dict[str, Any]
FS = PostingOrder.FIRST_SEEN_DESC
PAY = PostingOrder.SALARY_DESC
SHAPE = MarketShape.default(companies=40)
ROLES = SHAPE.roles
ROLE = ROLES[0]
N = 2_000
CLOCK = START + SHAPE.span


@pytest.fixture
async def db(mongo_settings: MongoSettings) -> AsyncIterator[AsyncDatabase[Doc]]:
    """A database with the consumer's indexes (its `ensure_indexes`) and no postings yet."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_settings.uri, tz_aware=True)
    await MongoBatchStore(client, mongo_settings.database).ensure_indexes()
    yield client[mongo_settings.database]
    await client.close()


@pytest.fixture
async def market(db: AsyncDatabase[Doc]) -> list[Doc]:
    docs = list(posting_docs(SHAPE, seed=5, n=N))
    await db.postings.insert_many([dict(d) for d in docs])
    return docs


def expected(
    docs: Iterable[Mapping[str, Any]], f: PostingFilter, role: str | None, order: PostingOrder
) -> list[str]:
    """What a listing holds, stated independently of the engine."""

    def keep(d: Mapping[str, Any]) -> bool:
        if not d["open"] or d.get("counted") is False or d["role"] is None:
            return False
        if role is not None and d["role"] != role:
            return False
        if order is PAY and (d["salary"] is None or IMPLAUSIBLE_FLAG in d["flags"]):
            return False
        if f.metros is not None and d["metro"] not in f.metros:
            return False
        if f.seniorities is not None and d["seniority"] not in {s.value for s in f.seniorities}:
            return False
        if f.work_modes is not None and d["work_mode"] not in {m.value for m in f.work_modes}:
            return False
        if f.companies is not None and d["company"] not in f.companies:
            return False
        if f.skills is not None and not set(f.skills) <= set(d["skills"]):
            return False
        if f.posted_within_days is not None:
            return bool(d["first_seen_at"] >= CLOCK - timedelta(days=f.posted_within_days))
        return True

    def key(d: Mapping[str, Any]) -> tuple[Any, ...]:
        pay = (d["salary"]["annual_max_usd"],) if order is PAY else ()
        return (*pay, d["first_seen_at"], d["_id"])

    return [d["_id"] for d in sorted(filter(keep, docs), key=key, reverse=True)]


# ---- every query shape is an index scan -----------------------------------------------------


def _scan_of(explained: Mapping[str, Any]) -> Mapping[str, Any]:
    plan = explained["queryPlanner"]["winningPlan"]
    while "inputStage" in plan:
        plan = plan["inputStage"]
    return plan  # type: ignore[no-any-return]


async def test_every_query_shape_of_the_drill_down_is_an_index_scan(
    db: AsyncDatabase[Doc], market: list[Doc]
) -> None:
    t = time_key(CLOCK - timedelta(days=3))
    at = datetime.fromtimestamp(t / 1000, UTC)
    queries: list[tuple[IndexSpec, Doc]] = []
    for f, role, order in [
        (NO_FILTER, None, FS),
        (NO_FILTER, ROLE, FS),
        (PostingFilter(companies=frozenset({company_name(0)})), None, FS),
        (PostingFilter(skills=frozenset({SHAPE.skills[0]})), None, FS),
        (NO_FILTER, ROLE, PAY),
    ]:
        plan = choose_plan(f, role, order, ROLES)

        def window(pinned: Doc, key: Any, lo: Any, hi: Any, plan: ScanPlan = plan) -> None:
            queries.append((plan.index, window_query(plan, plan.prefixes[0], pinned, key, lo, hi)))

        if order is FS:
            # A first page's window (open above), a window, the rest of a level (open below),
            # and the ties at a cursor's time.
            window({}, FIRST_SEEN, t - 3_600_000, None)
            window({}, FIRST_SEEN, t - 3_600_000, t)
            window({}, FIRST_SEEN, None, t)
            window({FIRST_SEEN.field: at}, POSTING_ID, None, "m")
        else:
            # The same on pay, then within one value by time, then the ties at both.
            window({}, ANNUAL_MAX, 150_000, None)
            window({}, ANNUAL_MAX, 150_000, 200_000)
            window({}, ANNUAL_MAX, None, 200_000)
            window({ANNUAL_MAX.field: 200_000}, FIRST_SEEN, t - 3_600_000, t)
            window({ANNUAL_MAX.field: 200_000}, FIRST_SEEN, None, t + 1)
            window({ANNUAL_MAX.field: 200_000, FIRST_SEEN.field: at}, POSTING_ID, None, "m")
    # A company's range read whole (SALARY_DESC within a company).
    plan = choose_plan(PostingFilter(companies=frozenset({company_name(0)})), None, PAY, ROLES)
    queries.append((plan.index, window_query(plan, plan.prefixes[0], {}, FIRST_SEEN, None, None)))
    for index, query in queries:
        scan = _scan_of(await db.postings.find(query).explain())
        assert scan.get("stage") == "IXSCAN", (query, scan)
        assert scan["indexName"] == index.name, (query, scan)
    assert {index.name for index, _ in queries} == {spec.name for spec in DRILL_DOWN_INDEXES}
    # Cluster sizes of a page: the consumer's `cluster_id` index.
    scan = _scan_of(await db.postings.find({"cluster_id": {"$in": ["a", "b"]}}).explain())
    assert scan.get("stage") == "IXSCAN"


async def test_the_indexes_are_partial_on_open_postings(db: AsyncDatabase[Doc]) -> None:
    info = await db.postings.index_information()
    for spec in DRILL_DOWN_INDEXES:
        assert info[spec.name]["key"] == list(spec.keys)
        assert info[spec.name]["partialFilterExpression"] == {"open": True}


# ---- pages ----------------------------------------------------------------------------------


CASES = [
    (NO_FILTER, None, FS, 50),
    (NO_FILTER, ROLE, FS, 7),
    (NO_FILTER, ROLE, PAY, 7),
    (NO_FILTER, None, PAY, 50),
    (PostingFilter(metros=frozenset({"San Francisco", "New York"})), None, FS, 20),
    (PostingFilter(seniorities=frozenset({Seniority.SENIOR})), ROLE, PAY, 20),
    (PostingFilter(work_modes=frozenset({WorkMode.REMOTE, WorkMode.HYBRID})), ROLE, FS, 20),
    (PostingFilter(companies=frozenset({company_name(0), company_name(3)})), None, FS, 10),
    (PostingFilter(companies=frozenset({company_name(0)})), None, PAY, 10),
    (PostingFilter(skills=frozenset({SHAPE.skills[1]})), None, FS, 25),
    (PostingFilter(skills=frozenset({SHAPE.skills[0], SHAPE.skills[1]})), ROLE, FS, 10),
    (PostingFilter(posted_within_days=4), None, PAY, 20),
]


async def _pages(
    db: AsyncDatabase[Doc],
    f: PostingFilter,
    role: str | None,
    order: PostingOrder,
    first: int,
    between: Any = None,
    ids: list[str] | None = None,
) -> list[str]:
    source = MongoPostings(db)
    plan = choose_plan(f, role, order, ROLES)
    after: Cursor | None = None
    ids = [] if ids is None else ids
    for n in range(1, 2_000):
        page = await read_page(source, plan, after, first, CLOCK)
        ids += [d["_id"] for d in page.docs]
        if not page.has_next:
            return ids
        assert page.end_cursor is not None
        after = Cursor.decode(page.end_cursor, order)
        if between is not None:
            await between(n)
    raise AssertionError("paging did not end")


@pytest.mark.parametrize(("f", "role", "order", "first"), CASES)
async def test_pages_concatenate_to_the_filtered_set(
    db: AsyncDatabase[Doc],
    market: list[Doc],
    f: PostingFilter,
    role: str | None,
    order: PostingOrder,
    first: int,
) -> None:
    want = expected(market, f, role, order)
    assert want
    assert await _pages(db, f, role, order, first) == want


async def test_keyset_pages_hold_while_postings_come_and_go(db: AsyncDatabase[Doc]) -> None:
    docs = list(posting_docs(SHAPE, seed=5, n=N, stop=N // 2))
    await db.postings.insert_many([dict(d) for d in docs])
    newer = list(posting_docs(SHAPE, seed=5, n=N, start=N // 2))  # first seen after all above
    older = [
        d | {"_id": f"old:{d['_id']}", "first_seen_at": d["first_seen_at"] - timedelta(days=60)}
        for d in newer[:100]
    ]
    closed: set[str] = set()
    reached: list[str] = []
    oldest_first = expected(docs, NO_FILTER, ROLE, FS)[::-1]

    async def between(page: int) -> None:
        await db.postings.insert_many([dict(d) for d in newer[page * 10 : page * 10 + 10]])
        await db.postings.insert_many([dict(d) for d in older[page * 3 : page * 3 + 3]])
        # Postings not reached yet (the oldest of the listing) close.
        victim = oldest_first[page * 2]
        if victim not in reached:
            await db.postings.update_one({"_id": victim}, {"$set": {"open": False}})
            closed.add(victim)

    got = await _pages(db, NO_FILTER, ROLE, FS, 10, between, reached)
    assert len(got) == len(set(got)), "listed twice"
    assert closed & set(expected(docs, NO_FILTER, ROLE, FS)), "no listed posting was closed"
    stable = set(expected(docs, NO_FILTER, ROLE, FS)) - closed
    assert stable <= set(got), "a posting present throughout was skipped"
    assert not set(got) & closed, "a posting closed before it was reached was listed"
    assert not set(got) & {d["_id"] for d in newer}, "a posting before the cursor appeared"
    inserted_behind = {d["_id"] for d in older} & {d["_id"] async for d in db.postings.find()}
    assert set(expected([d for d in older if d["_id"] in inserted_behind], NO_FILTER, ROLE, FS))
    assert set(expected(older, NO_FILTER, ROLE, FS)) & inserted_behind <= set(got)
    order = [d["first_seen_at"] async for d in db.postings.find({"_id": {"$in": got}})]
    assert len(order) == len(got)


# ---- over HTTP, on a market the consumer's store wrote ---------------------------------------

HTTP_N = 600
_ROLES = load_taxonomy().roles


async def write_market(mongo: MongoSettings) -> list[Doc]:
    """The market through the consumer's store (no Kafka): postings, aggregates, rollups,
    clusters and `counted` flags as in production; some postings closed afterwards."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo.uri, tz_aware=True)
    store = MongoBatchStore(client, mongo.database)
    await store.ensure_indexes()
    states = [posting_state(SHAPE, 9, i, HTTP_N) for i in range(HTTP_N)]
    # Every 50th is the previous job on another board (same company, title, metro).
    offset = 0
    batch: list[Delivered] = []
    for i, state in enumerate(states):
        assert state.posting is not None
        posting = state.posting
        at = state.first_seen_at
        original = states[i - 1].posting if i % 50 == 49 else None
        if original is not None:
            posting = dataclasses.replace(
                posting,
                title=original.title,
                role=original.role,
                seniority=original.seniority,
                company=original.company,
                metro=original.metro,
                cluster_key=original.cluster_key,
            )
            at += timedelta(seconds=1)  # after the original: the original is counted
        batch.append(Delivered("postings", 0, offset, Observed(f"o-{i}", at, posting)))
        offset += 1
        if not state.open:
            close = Closed(f"c-{i}", at + timedelta(hours=1), state.posting_key)
            batch.append(Delivered("postings", 0, offset, close))
            offset += 1
        if len(batch) >= 200:
            await store.apply(batch)
            batch = []
    await store.apply(batch)
    docs = [d async for d in client[mongo.database].postings.find()]
    await client.close()
    return docs


@pytest.fixture
async def http(mongo_settings: MongoSettings) -> AsyncIterator[tuple[httpx.AsyncClient, list[Doc]]]:
    docs = await write_market(mongo_settings)
    app = build_app(ApiSettings(), mongo_settings, _ROLES)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client, docs


PAGE = """query P($role: String, $filter: PostingFilter, $first: Int!, $after: String,
                 $order: PostingOrder!) {
  postings(role: $role, filter: $filter, first: $first, after: $after, orderBy: $order) {
    totalCount totalCountIsLowerBound
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node {
      id source title company metro workMode seniority role { slug title } skills(limit: 3)
      salary { min max currency period annualMinUsd annualMaxUsd source plausible }
      url postedAt firstSeen lastObserved ageDays open clusterSize } }
  }
}"""


async def post(client: httpx.AsyncClient, variables: Mapping[str, Any]) -> Any:
    response = await client.post("/graphql", json={"query": PAGE, "variables": dict(variables)})
    assert response.status_code == 200
    return response.json()


async def listing(client: httpx.AsyncClient, variables: Mapping[str, Any]) -> list[Any]:
    nodes: list[Any] = []
    after = None
    while True:
        body = await post(client, {**variables, "after": after})
        assert "errors" not in body, body
        connection = body["data"]["postings"]
        nodes += [e["node"] for e in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]


@pytest.mark.parametrize(
    "variables",
    [
        {"role": ROLE, "order": "FIRST_SEEN_DESC"},
        {"role": ROLE, "order": "SALARY_DESC"},
        {"order": "FIRST_SEEN_DESC", "filter": {"metros": ["san-francisco", "New York"]}},
        {"role": ROLE, "order": "SALARY_DESC", "filter": {"seniorities": ["SENIOR", "LEAD"]}},
        {"order": "FIRST_SEEN_DESC", "filter": {"skills": [SHAPE.skills[1]]}},
        {"order": "FIRST_SEEN_DESC", "filter": {"companies": [company_name(0)]}},
        {"order": "SALARY_DESC", "filter": {"workModes": ["REMOTE"], "postedWithinDays": 20}},
    ],
)
async def test_the_connection_lists_the_jobs_its_total_counts(
    http: tuple[httpx.AsyncClient, list[Doc]], variables: dict[str, Any]
) -> None:
    client, docs = http
    nodes = await listing(client, {**variables, "first": 40})
    raw = variables.get("filter") or {}
    f = PostingFilter(
        metros=frozenset({"San Francisco", "New York"}) if "metros" in raw else None,
        seniorities=frozenset(Seniority[s] for s in raw["seniorities"])
        if "seniorities" in raw
        else None,
        work_modes=frozenset(WorkMode[m] for m in raw["workModes"]) if "workModes" in raw else None,
        companies=frozenset(raw["companies"]) if "companies" in raw else None,
        skills=frozenset(raw["skills"]) if "skills" in raw else None,
        posted_within_days=raw.get("postedWithinDays"),
    )
    order = PostingOrder[variables["order"]]
    clock = max(d["last_event_at"] for d in docs)
    assert [n["id"] for n in nodes] == expected_at(docs, f, variables.get("role"), order, clock)
    first = await post(client, {**variables, "first": 5})
    total = first["data"]["postings"]
    # One job, one count: the listing is what the figures count.
    assert (total["totalCount"], total["totalCountIsLowerBound"]) == (len(nodes), False)


def expected_at(
    docs: list[Doc], f: PostingFilter, role: str | None, order: PostingOrder, clock: datetime
) -> list[str]:
    global CLOCK
    saved, CLOCK = CLOCK, clock
    try:
        return expected(docs, f, role, order)
    finally:
        CLOCK = saved


async def test_nodes_carry_the_posting_as_stored(
    http: tuple[httpx.AsyncClient, list[Doc]],
) -> None:
    client, docs = http
    body = await post(client, {"role": ROLE, "order": "SALARY_DESC", "first": 100})
    edges = body["data"]["postings"]["edges"]
    assert edges
    by_id = {d["_id"]: d for d in docs}
    clock = max(d["last_event_at"] for d in docs)
    for edge in edges:
        node = edge["node"]
        doc = by_id[node["id"]]
        assert node["role"] == {"slug": ROLE, "title": _ROLES[ROLE].name}
        assert node["skills"] == doc["skills"][:3]
        assert node["salary"]["annualMaxUsd"] == doc["salary"]["annual_max_usd"]
        assert node["salary"]["plausible"] is True
        assert node["open"] is True
        assert node["company"] == doc["company"]
        assert node["workMode"] == doc["work_mode"].upper()
        assert node["ageDays"] == (clock - doc["first_seen_at"]) // timedelta(days=1)
        assert datetime.fromisoformat(node["firstSeen"]) == doc["first_seen_at"]
        members = [d for d in docs if d["cluster_id"] == doc["cluster_id"] and d["open"]]
        assert node["clusterSize"] == len(members)


async def test_cluster_members_are_listed_once(http: tuple[httpx.AsyncClient, list[Doc]]) -> None:
    client, docs = http
    nodes = await listing(client, {"order": "FIRST_SEEN_DESC", "first": 100})
    clusters = [next(d["cluster_id"] for d in docs if d["_id"] == n["id"]) for n in nodes]
    assert len(clusters) == len(set(clusters))
    assert any(n["clusterSize"] == 2 for n in nodes), "the market has cross-posted jobs"


@pytest.mark.parametrize(
    ("variables", "argument"),
    [
        ({"after": "bm90IGEgY3Vyc29y"}, "after"),
        ({"after": "%%%"}, "after"),
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"role": "astronaut"}, None),
        ({"filter": {"metros": ["Atlantis"]}}, "filter.metros"),
    ],
)
async def test_bad_arguments_are_bad_user_input_never_a_500(
    http: tuple[httpx.AsyncClient, list[Doc]], variables: dict[str, Any], argument: str | None
) -> None:
    client, _ = http
    body = await post(client, {"order": "FIRST_SEEN_DESC", "first": 5, **variables})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    if argument is not None:
        assert error["extensions"]["argument"] == argument


async def test_a_cursor_of_the_other_order_or_edited_is_refused(
    http: tuple[httpx.AsyncClient, list[Doc]],
) -> None:
    client, _ = http
    body = await post(client, {"order": "FIRST_SEEN_DESC", "first": 2})
    cursor = body["data"]["postings"]["pageInfo"]["endCursor"]
    other = await post(client, {"order": "SALARY_DESC", "first": 2, "after": cursor})
    assert other["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw["p"][0] = "yesterday"
    edited = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()
    body = await post(client, {"order": "FIRST_SEEN_DESC", "first": 2, "after": edited})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "orderBy" in body["errors"][0]["message"]
