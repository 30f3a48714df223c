"""Metros and companies (issue 10) on a generated market, through the real consumer, SecantusDB
and the HTTP API, against an independent recomputation from what the test published.

The oracle reads the stored postings only to learn what normalization made of each event (metro,
company, pay); it picks each cross-board cluster's representative itself, groups, ranks and
interpolates by hand, sharing no code with the consumer or the API.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from rolepulse.consumers.verify import aggregate_differences
from rolepulse.demo import feed
from rolepulse.demo.plans import loose_plan, non_ai_plan
from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.schema.postings_indexes import DRILL_DOWN_INDEXES
from rolepulse.services.graphql import companies as companies_module
from rolepulse.services.main import build_app
from rolepulse.settings import ApiSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

Doc = dict[str, Any]
ConsumeAll = Callable[..., Awaitable[dict[int, int]]]

ROLES = {"ai-software-engineer": 220, "ai-product-manager": 180, "data-scientist": 140}

ROLE_FIELDS = """slug openPositions remotePct medianPostingAgeDays
  salary { n median average }
  topCompanies(limit: 3) { name count }
  topMetros(limit: 3) { name count }
  topPayingCompanies(limit: 3, minPostings: 2) { name n average }"""
SHARED = """name slug openPositions shareOfMarketPct remotePct
  salary { n avgMin avgMax p25 median average p75 }
  topSkills(limit: 8) { name count }"""
METRO_QUERY = f"""query M($name: String!) {{ metro(name: $name) {{ {SHARED}
  topCompanies(limit: 5) {{ name count }}
  topPayingCompanies(limit: 5, minPostings: 2) {{ name n average }}
  roles {{ {ROLE_FIELDS} }} }} }}"""
COMPANY_QUERY = f"""query C($name: String!) {{ company(name: $name) {{ {SHARED}
  topMetros(limit: 5) {{ name count }}
  roles {{ {ROLE_FIELDS} }} }} }}"""
ROLE_QUERY = f"""query R($slug: String!, $filter: PostingFilter) {{
  role(slug: $slug, filter: $filter) {{ {ROLE_FIELDS} }} }}"""
METROS_PAGE = """query P($first: Int!, $after: String) { metros(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  edges { cursor node { name slug openPositions } } } }"""
COMPANIES_PAGE = """query P($first: Int!, $after: String, $filter: PostingFilter) {
  companies(first: $first, after: $after, filter: $filter) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { name openPositions salary { n average }
                        max: salary(basis: MAX) { basis n avgMin avgMax average } } } } }"""


def market_events(seed: int = 29) -> list[bytes]:
    """Three roles over twelve places and remote-only postings, a non-AI tail at the same
    employers, closes, re-observations, cross-posts and redeliveries."""
    rng = random.Random(seed)
    plans = [loose_plan(role, rng) for role, n in ROLES.items() for _ in range(n)]
    plans += [non_ai_plan(rng) for _ in range(40)]
    closed = [loose_plan(role, rng) for role in ROLES for _ in range(12)]
    shape = feed.FeedShape(reobserved=100, duplicated=30, cross_posted=40)
    normalizer = Normalizer(load_taxonomy())

    def cluster_key(source: str, body: Doc) -> str | None:
        event = PostingEventV1.model_validate(
            {"version": 1, "event_id": "draft", "event_type": "posting.observed",
             "occurred_at": "2026-11-01T00:00:00Z", "source": source, "posting": body}
        )  # fmt: skip
        return normalizer.cluster_key(normalizer.normalize(event))

    events: list[Doc] = feed.build(plans, closed, shape, rng, cluster_key)
    # Some jobs placed in a metro are remote there ("Remote in Seattle"): every event of them.
    placed = sorted(
        {_key(e) for e in events if e["event_type"] == "posting.observed" and _located(e)}
    )
    remote = set(rng.sample(placed, 60))
    for event in events:
        if _key(event) in remote and event["event_type"] == "posting.observed":
            event["posting"]["remote"] = True
    return [json.dumps(e).encode() for e in events]


def _key(event: Doc) -> tuple[str, str]:
    return event["source"], event["posting"]["source_id"]


def _located(event: Doc) -> bool:
    return event["posting"].get("location") not in (None, "Remote")


# ---- the oracle ---------------------------------------------------------------------------


def open_jobs(postings: Iterable[Doc]) -> list[Doc]:
    """Open AI jobs: per cluster the open member first seen earliest (then by key)."""
    clusters: dict[str, list[Doc]] = {}
    for p in postings:
        if p["has_data"]:
            clusters.setdefault(p.get("cluster_id") or p["_id"], []).append(p)
    out = []
    for members in clusters.values():
        best = min(members, key=lambda m: (not m["open"], m["first_seen_at"], m["_id"]))
        if best["open"] and best["role"] is not None:
            out.append(best)
    return out


def interpolate(values: Sequence[int], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    if lo + 1 >= len(xs):
        return float(xs[lo])
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def ranked(counter: Counter[str], limit: int | None = None) -> list[dict[str, Any]]:
    pairs = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"name": k, "count": v} for k, v in pairs if v > 0]


def paid(jobs: Iterable[Doc]) -> list[Doc]:
    return [p for p in jobs if p["salary"] and "salary_implausible" not in p["flags"]]


def mid(p: Doc) -> int:
    return int((p["salary"]["annual_min_usd"] + p["salary"]["annual_max_usd"] + 1) // 2)


def paying(jobs: Iterable[Doc], limit: int, min_postings: int) -> list[dict[str, Any]]:
    pay: dict[str, list[int]] = {}
    for p in paid(jobs):
        pay.setdefault(p["company"], []).append(mid(p))
    rows = sorted(
        ((c, len(v), sum(v) / len(v)) for c, v in pay.items() if len(v) >= min_postings),
        key=lambda t: (-t[2], t[0]),
    )[:limit]
    return [{"name": c, "n": n, "average": pytest.approx(a)} for c, n, a in rows]


def salary(jobs: Sequence[Doc]) -> Doc:
    with_pay = paid(jobs)
    lows = [p["salary"]["annual_min_usd"] for p in with_pay]
    highs = [p["salary"]["annual_max_usd"] for p in with_pay]
    mids = [mid(p) for p in with_pay]
    n = len(with_pay)
    return {
        "n": n,
        "avgMin": pytest.approx(sum(lows) / n) if n else None,
        "avgMax": pytest.approx(sum(highs) / n) if n else None,
        "p25": pytest.approx(interpolate(mids, 0.25)),
        "median": pytest.approx(interpolate(mids, 0.5)),
        "average": pytest.approx(sum(mids) / n) if n else None,
        "p75": pytest.approx(interpolate(mids, 0.75)),
    }


def remote_pct(jobs: Sequence[Doc]) -> Any:
    remote = sum(1 for p in jobs if p["work_mode"] == "remote")
    return pytest.approx(remote / len(jobs) * 100) if jobs else None


def shared(name: str, jobs: Sequence[Doc], market_open: int) -> Doc:
    return {
        "name": name,
        "slug": slug(name),
        "openPositions": len(jobs),
        "shareOfMarketPct": pytest.approx(len(jobs) / market_open * 100),
        "remotePct": remote_pct(jobs),
        "salary": salary(jobs),
        "topSkills": ranked(Counter(s for p in jobs for s in p["skills"]), 8),
    }


def role_figures(jobs: Sequence[Doc], clock: datetime) -> list[Doc]:
    """ROLE_FIELDS of each role among `jobs`, most open postings first, ties by slug."""
    by_role: dict[str, list[Doc]] = {}
    for p in jobs:
        by_role.setdefault(p["role"], []).append(p)
    out = []
    for role, group in sorted(by_role.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        mids = [mid(p) for p in paid(group)]
        ages = [max((clock.date() - _utc(p["first_seen_at"]).date()).days, 0) for p in group]
        out.append(
            {
                "slug": role,
                "openPositions": len(group),
                "remotePct": remote_pct(group),
                "medianPostingAgeDays": interpolate(ages, 0.5),
                "salary": {
                    "n": len(mids),
                    "median": pytest.approx(interpolate(mids, 0.5)),
                    "average": pytest.approx(sum(mids) / len(mids)) if mids else None,
                },
                "topCompanies": ranked(Counter(p["company"] for p in group), 3),
                "topMetros": ranked(Counter(p["metro"] for p in group if p["metro"]), 3),
                "topPayingCompanies": paying(group, 3, 2),
            }
        )
    return out


def slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


# ---- the system under test ------------------------------------------------------------------


class Api:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: Mapping[str, Any] | None = None) -> Doc:
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": dict(variables or {})}
        )
        assert response.status_code == 200, response.text
        body: Doc = response.json()
        return body

    async def data(self, query: str, variables: Mapping[str, Any] | None = None) -> Doc:
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        data: Doc = body["data"]
        return data

    async def pages(self, query: str, field: str, first: int, **variables: Any) -> list[Doc]:
        """Every node of a connection, following endCursor; checks the page invariants."""
        nodes: list[Doc] = []
        after = None
        while True:
            page = (await self.data(query, {"first": first, "after": after, **variables}))[field]
            edges = page["edges"]
            assert len(edges) <= first
            nodes += [e["node"] for e in edges]
            if edges:
                assert page["pageInfo"]["endCursor"] == edges[-1]["cursor"]
            if not page["pageInfo"]["hasNextPage"]:
                assert page["totalCount"] == len(nodes)
                return nodes
            after = page["pageInfo"]["endCursor"]


@pytest.fixture
async def loaded(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, consume_all: ConsumeAll
) -> tuple[list[Doc], datetime]:
    """The market consumed (batches of 120); the open AI jobs and the stream clock."""
    await consume_all(kafka_settings, mongo_settings, market_events(), max_batch=120)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_settings.uri, tz_aware=True)
    try:
        db = client[mongo_settings.database]
        # The drill-down's indexes, which a company's figures are read through.
        for spec in DRILL_DOWN_INDEXES:
            await db.postings.create_index(list(spec.keys), **spec.create_kwargs())
        assert await aggregate_differences(db) == []
        postings = await db.postings.find({}, {"events": 0}).to_list()
        clock = min([_utc(d["max_event_at"]) async for d in db.consumer_offsets.find({})])
    finally:
        await client.close()
    return open_jobs(postings), clock


@pytest.fixture
async def api(mongo_settings: MongoSettings) -> Any:
    app = build_app(ApiSettings(), mongo_settings, load_taxonomy().roles)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Api(http)


async def test_metros_are_ranked_and_paged_like_the_open_jobs(
    loaded: tuple[list[Doc], datetime], api: Api
) -> None:
    jobs, _ = loaded
    want = ranked(Counter(p["metro"] for p in jobs if p["metro"]))
    assert any(p["metro"] is None for p in jobs)  # remote-only jobs exist, and are in no metro
    assert any(p["metro"] and p["work_mode"] == "remote" for p in jobs)  # remote in a metro
    for first in (5, 100):
        nodes = await api.pages(METROS_PAGE, "metros", first)
        assert [{"name": n["name"], "count": n["openPositions"]} for n in nodes] == want
        assert [n["slug"] for n in nodes] == [slug(w["name"]) for w in want]
    page = (await api.data(METROS_PAGE, {"first": 3}))["metros"]
    assert page["pageInfo"]["hasPreviousPage"] is False
    assert page["pageInfo"]["startCursor"] == page["edges"][0]["cursor"]


async def test_a_metro_is_its_jobs_and_its_roles_are_the_filtered_roles(
    loaded: tuple[list[Doc], datetime], api: Api
) -> None:
    jobs, clock = loaded
    market_open = len(jobs)
    top = ranked(Counter(p["metro"] for p in jobs if p["metro"]))
    for typed, name in [
        (top[0]["name"], top[0]["name"]),
        (slug(top[1]["name"]), top[1]["name"]),
        (top[-1]["name"].upper(), top[-1]["name"]),
    ]:
        here = [p for p in jobs if p["metro"] == name]
        got = (await api.data(METRO_QUERY, {"name": typed}))["metro"]
        want = shared(name, here, market_open) | {
            "topCompanies": ranked(Counter(p["company"] for p in here), 5),
            "topPayingCompanies": paying(here, 5, 2),
            "roles": role_figures(here, clock),
        }
        assert {k: got[k] for k in want} == want, name
        for role in got["roles"]:
            variables = {"slug": role["slug"], "filter": {"metros": [name]}}
            assert role == (await api.data(ROLE_QUERY, variables))["role"]


async def test_a_company_is_its_jobs_across_roles(
    loaded: tuple[list[Doc], datetime], api: Api
) -> None:
    jobs, clock = loaded
    market_open = len(jobs)
    top = ranked(Counter(p["company"] for p in jobs))
    for typed, name in [(slug(top[0]["name"]), top[0]["name"]), (top[5]["name"], top[5]["name"])]:
        theirs = [p for p in jobs if p["company"] == name]
        got = (await api.data(COMPANY_QUERY, {"name": typed}))["company"]
        want = shared(name, theirs, market_open) | {
            "topMetros": ranked(Counter(p["metro"] for p in theirs if p["metro"]), 5),
            "roles": role_figures(theirs, clock),
        }
        assert {k: got[k] for k in want} == want, name
        for role in got["roles"]:
            variables = {"slug": role["slug"], "filter": {"companies": [name]}}
            assert role == (await api.data(ROLE_QUERY, variables))["role"]

    # An employer without open postings is no mistake: the figures of nothing.
    nobody = (await api.data(COMPANY_QUERY, {"name": " No Such Employer Inc "}))["company"]
    assert nobody["name"] == "No Such Employer Inc"
    assert nobody["openPositions"] == 0
    assert nobody["salary"]["n"] == 0
    assert nobody["roles"] == nobody["topSkills"] == nobody["topMetros"] == []
    assert nobody["remotePct"] is None


COMPANY_FILTERS: list[tuple[dict[str, Any], Callable[[Doc, datetime], bool]]] = [
    ({}, lambda p, now: True),
    (
        {"metros": ["new-york", "Boston"], "seniorities": ["SENIOR", "MID"]},
        lambda p, now: p["metro"] in {"New York", "Boston"} and p["seniority"] in {"senior", "mid"},
    ),
    ({"workModes": ["REMOTE"]}, lambda p, now: p["work_mode"] == "remote"),
    ({"skills": ["python"]}, lambda p, now: "Python" in p["skills"]),
    (
        {"postedWithinDays": 9},
        lambda p, now: (now - _utc(p["first_seen_at"])).total_seconds() <= 9 * 86_400,
    ),
]


async def test_companies_are_ranked_over_the_filtered_jobs(
    loaded: tuple[list[Doc], datetime], api: Api
) -> None:
    jobs, clock = loaded
    for gql, keep in COMPANY_FILTERS:
        selected = [p for p in jobs if keep(p, clock)]
        assert selected, gql
        want = ranked(Counter(p["company"] for p in selected))
        nodes = await api.pages(COMPANIES_PAGE, "companies", 7, filter=gql or None)
        assert [{"name": n["name"], "count": n["openPositions"]} for n in nodes] == want, gql
        for node in nodes:
            assert node["salary"] == pay(selected, node["name"], mid), (gql, node["name"])
            highs = pay(selected, node["name"], lambda p: p["salary"]["annual_max_usd"])
            lows = pay(selected, node["name"], lambda p: p["salary"]["annual_min_usd"])
            assert node["max"] == {
                "basis": "MAX",
                "n": highs["n"],
                "avgMin": lows["average"],
                "avgMax": highs["average"],
                "average": highs["average"],
            }


def pay(jobs: Iterable[Doc], company: str, value: Callable[[Doc], int]) -> Doc:
    values = [value(p) for p in paid(jobs) if p["company"] == company]
    average = pytest.approx(sum(values) / len(values)) if values else None
    return {"n": len(values), "average": average}


async def test_bad_arguments_are_refused_naming_them(
    loaded: tuple[list[Doc], datetime], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs, _ = loaded

    async def error(query: str, variables: Mapping[str, Any] | None = None) -> Doc:
        body = await api.post(query, variables)
        assert body["data"] is None, body
        (found,) = body["errors"]
        assert found["extensions"]["code"] == "BAD_USER_INPUT", found
        return dict(found)

    unknown = await error(METRO_QUERY, {"name": "Sna Francisco"})
    assert unknown["extensions"]["argument"] == "name"
    assert unknown["extensions"]["validNames"][0] == "San Francisco"
    assert len(unknown["extensions"]["validNames"]) <= 20
    assert "Sna Francisco" in unknown["message"]
    remote = await error(METRO_QUERY, {"name": "remote"})
    assert "work mode" in remote["message"]

    for first in (0, 101):
        for query in (METROS_PAGE, COMPANIES_PAGE):
            refused = await error(query, {"first": first})
            assert refused["extensions"]["argument"] == "first"
    metros = (await api.data(METROS_PAGE, {"first": 1}))["metros"]
    cursor = metros["pageInfo"]["endCursor"]
    for query, after in [
        (METROS_PAGE, "not-a-cursor"),
        (METROS_PAGE, cursor[:-3]),
        (COMPANIES_PAGE, cursor),  # another connection's cursor
        (METROS_PAGE, "eyJrIjoibWV0cm9zIiwiYyI6LTEsIm4iOiJ4In0"),  # count -1
    ]:
        refused = await error(query, {"first": 5, "after": after})
        assert refused["extensions"]["argument"] == "after"
    bad_filter = await error(COMPANIES_PAGE, {"first": 5, "filter": {"metros": ["Nowhere"]}})
    assert bad_filter["extensions"]["argument"] == "filter.metros"

    # Over the read limit, a company's postings are refused, never approximated; its count is
    # a counter and still answers.
    big = ranked(Counter(p["company"] for p in jobs))[0]
    monkeypatch.setattr(companies_module, "MAX_POSTINGS_READ", big["count"] - 1)
    body = await api.post(COMPANY_QUERY, {"name": big["name"]})
    assert body["errors"][0]["extensions"]["scanMax"] == big["count"]
    small = await api.data('query C($n: String!) { company(name: $n) { openPositions } }',
                           {"n": big["name"]})  # fmt: skip
    assert small["company"]["openPositions"] == big["count"]
    refused = await error(COMPANIES_PAGE, {"first": 5, "filter": {"postedWithinDays": 30}})
    assert refused["extensions"]["scanMax"] > big["count"] - 1


async def test_prices_follow_what_each_field_reads(api: Api) -> None:
    async def cost(query: str, variables: Mapping[str, Any] | None = None) -> int:
        return int((await api.post(query, variables))["extensions"]["cost"]["requested"])

    # A metro reads one cell per role (10 points each, as a metro filter on a role does).
    assert await cost('{ metro(name: "Boston") { openPositions } }') == 2 + 12 * 10
    # A company's figures read its postings, like a companies filter.
    assert await cost('{ company(name: "Meta") { openPositions } }') == 2 + 1_000
    plain = await cost("{ companies { totalCount } }")
    assert plain == 2
    cells = await cost('{ companies(filter: {metros: ["Boston"]}) { totalCount } }')
    assert cells == plain + 12 * 10
    postings = await cost('{ companies(filter: {skills: ["Python"]}) { totalCount } }')
    assert postings == plain + 1_000
    # Edges are as many as `first`.
    page = "query P($n: Int!) { metros(first: $n) { edges { node { name } } } }"
    assert await cost(page, {"n": 50}) == 1 + 1 + 50 * (1 + 1)
