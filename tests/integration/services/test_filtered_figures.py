"""Filtered figures (issue 10) on a generated market, through the real consumer, SecantusDB and
the HTTP API, against an independent recomputation from the stored postings.

The oracle below shares no code with the consumer or the API beyond the stored documents: it
picks each cross-board cluster's representative itself, filters with plain comparisons, sorts
salary lists and interpolates quantiles by hand. Every filter source is exercised: the cell
rollups (metro x seniority x work mode), one skill's rollup (and its company figures from
postings), and the postings path (companies, several skills, a skill with a metro,
postedWithinDays).
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from rolepulse.consumers.documents import doc_to_state
from rolepulse.consumers.verify import aggregate_differences, counted_keys, rebuilt_documents
from rolepulse.demo import feed
from rolepulse.demo.plans import loose_plan, non_ai_plan
from rolepulse.demo.render import Plan
from rolepulse.demo.salaries import Pay, PayForm
from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.schema.postings_indexes import DRILL_DOWN_INDEXES
from rolepulse.services.graphql import slicing
from rolepulse.services.main import build_app
from rolepulse.settings import ApiSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

Doc = dict[str, Any]
ConsumeAll = Callable[..., Awaitable[dict[int, int]]]

ROLES = {"ai-software-engineer": 260, "ai-product-manager": 220, "data-scientist": 160}
SWE, PM = "ai-software-engineer", "ai-product-manager"

FIGURES = """
fragment F on Role {
  slug openPositions shareOfMarketPct remotePct lowConfidence medianPostingAgeDays
  salary {
    n avgMin avgMax p10 p25 median average p75 p90 low high lowConfidence
    histogram(bucketWidth: 25000) { from to count }
    provenance { structured text description }
  }
  experienceMix { entry mid senior lead executive }
  workModes { remote hybrid onsite unknown }
  topSkills(limit: 8) { name count }
  topCompanies(limit: 5) { name count }
  topMetros(limit: 5) { name count }
  topPayingCompanies(limit: 5, minPostings: 2) { name n average }
}
"""
ROLE_QUERY = (
    "query R($slug: String!, $filter: PostingFilter) "
    "{ role(slug: $slug, filter: $filter) { ...F } }" + FIGURES
)


def market_events(seed: int = 11) -> list[bytes]:
    """A market of three roles with every seniority, twelve places (one not in the taxonomy),
    salaries from structured fields and from text, closes, re-observations, cross-posts and
    redeliveries, first seen over four weeks."""
    rng = random.Random(seed)
    plans = [_vary(loose_plan(role, rng), rng) for role, n in ROLES.items() for _ in range(n)]
    plans += [non_ai_plan(rng) for _ in range(30)]
    closed = [_vary(loose_plan(role, rng), rng) for role in ROLES for _ in range(15)]
    shape = feed.FeedShape(reobserved=120, duplicated=40, cross_posted=40)
    normalizer = Normalizer(load_taxonomy())

    def cluster_key(source: str, body: Doc) -> str | None:
        event = PostingEventV1.model_validate(
            {"version": 1, "event_id": "draft", "event_type": "posting.observed",
             "occurred_at": "2026-11-01T00:00:00Z", "source": source, "posting": body}
        )  # fmt: skip
        return normalizer.cluster_key(normalizer.normalize(event))

    events = feed.build(plans, closed, shape, rng, cluster_key)
    return [json.dumps(e).encode() for e in events]


def _vary(plan: Plan, rng: random.Random) -> Plan:
    # Pay from text as well as from the structured field, so provenance has both.
    if plan.pay is not None and rng.random() < 0.3:
        pay = Pay(plan.pay.annual_min, plan.pay.annual_max, PayForm.TEXT_FULL)
        return dataclasses.replace(plan, pay=pay)
    return plan


# ---- the oracle ---------------------------------------------------------------------------


def representatives(postings: Iterable[Doc]) -> list[Doc]:
    """Open jobs: per cluster the open member first seen earliest (then by key)."""
    clusters: dict[str, list[Doc]] = {}
    for p in postings:
        if p["has_data"]:
            clusters.setdefault(p.get("cluster_id") or p["_id"], []).append(p)
    out = []
    for members in clusters.values():
        best = min(members, key=lambda m: (not m["open"], m["first_seen_at"], m["_id"]))
        if best["open"]:
            out.append(best)
    return out


def matches(p: Doc, f: Mapping[str, Any], clock: datetime) -> bool:
    if "metros" in f and p["metro"] not in f["metros"]:
        return False
    if "seniorities" in f and p["seniority"] not in f["seniorities"]:
        return False
    if "work_modes" in f and p["work_mode"] not in f["work_modes"]:
        return False
    if "companies" in f and p["company"] not in f["companies"]:
        return False
    if "skills" in f and not set(f["skills"]) <= set(p["skills"]):
        return False
    days = f.get("days")
    return days is None or _utc(p["first_seen_at"]) >= clock - timedelta(days=days)


def interpolate(values: Sequence[int], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    if lo + 1 >= len(xs):
        return float(xs[lo])
    return xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def ranked(counter: Counter[str], limit: int) -> list[dict[str, Any]]:
    pairs = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"name": k, "count": v} for k, v in pairs]


def expected(jobs: Sequence[Doc], clock: datetime, market_open: int) -> Doc:
    """The figures of FIGURES over `jobs` (open representatives matching a filter)."""
    paid = [p for p in jobs if p["salary"] and "salary_implausible" not in p["flags"]]
    lows = [p["salary"]["annual_min_usd"] for p in paid]
    highs = [p["salary"]["annual_max_usd"] for p in paid]
    mids = [(lo + hi + 1) // 2 for lo, hi in zip(lows, highs, strict=True)]
    n = len(paid)
    buckets: Counter[int] = Counter(m // 25_000 * 25_000 for m in mids)
    first, last = (min(buckets), max(buckets)) if buckets else (0, -1)
    pay: dict[str, list[int]] = {}
    for p, mid in zip(paid, mids, strict=True):
        pay.setdefault(p["company"], []).append(mid)
    paying = sorted(
        ((c, len(v), sum(v) / len(v)) for c, v in pay.items() if len(v) >= 2),
        key=lambda t: (-t[2], t[0]),
    )[:5]
    today = clock.date()
    ages = [max((today - _utc(p["first_seen_at"]).date()).days, 0) for p in jobs]
    sources = Counter(p["salary"]["source"] for p in paid)
    levels = Counter(p["seniority"] for p in jobs)
    modes = Counter(p["work_mode"] for p in jobs)
    total = len(jobs)
    return {
        "openPositions": total,
        "shareOfMarketPct": pytest.approx(total / market_open * 100),
        "remotePct": pytest.approx(modes["remote"] / total * 100) if total else None,
        "lowConfidence": n < 10,
        "medianPostingAgeDays": interpolate(ages, 0.5),
        "salary": {
            "n": n,
            "avgMin": pytest.approx(sum(lows) / n) if n else None,
            "avgMax": pytest.approx(sum(highs) / n) if n else None,
            "p10": pytest.approx(interpolate(mids, 0.1)),
            "p25": pytest.approx(interpolate(mids, 0.25)),
            "median": pytest.approx(interpolate(mids, 0.5)),
            "average": pytest.approx(sum(mids) / n) if n else None,
            "p75": pytest.approx(interpolate(mids, 0.75)),
            "p90": pytest.approx(interpolate(mids, 0.9)),
            "low": min(mids) if mids else None,
            "high": max(mids) if mids else None,
            "lowConfidence": n < 10,
            "histogram": [
                {"from": b, "to": b + 25_000, "count": buckets[b]}
                for b in range(first, last + 1, 25_000)
            ],
            "provenance": {s: sources[s] for s in ("structured", "text", "description")},
        },
        "experienceMix": {s: levels[s] for s in ("entry", "mid", "senior", "lead", "executive")},
        "workModes": {m: modes[m] for m in ("remote", "hybrid", "onsite", "unknown")},
        "topSkills": ranked(Counter(s for p in jobs for s in p["skills"]), 8),
        "topCompanies": ranked(Counter(p["company"] for p in jobs if p["company"]), 5),
        "topMetros": ranked(Counter(p["metro"] for p in jobs if p["metro"]), 5),
        "topPayingCompanies": [
            {"name": c, "n": k, "average": pytest.approx(a)} for c, k, a in paying
        ],
    }


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


# ---- the system under test ------------------------------------------------------------------


class Api:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: Mapping[str, Any]) -> Doc:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: Doc = response.json()
        return body

    async def role(self, slug: str, f: Mapping[str, Any] | None) -> Doc:
        body = await self.post(ROLE_QUERY, {"slug": slug, "filter": f})
        assert "errors" not in body, body["errors"]
        role: Doc = body["data"]["role"]
        return role


@pytest.fixture
async def loaded(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, consume_all: ConsumeAll
) -> tuple[list[Doc], datetime]:
    """The market consumed (batches of 150); every stored posting and the stream clock."""
    await consume_all(kafka_settings, mongo_settings, market_events(), max_batch=150)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_settings.uri, tz_aware=True)
    try:
        db = client[mongo_settings.database]
        # The drill-down's indexes, which the postings path reads through, exactly as the
        # consumer creates them (in case this checkout's store does not create them yet).
        for spec in DRILL_DOWN_INDEXES:
            await db.postings.create_index(list(spec.keys), **spec.create_kwargs())
        assert await aggregate_differences(db) == []  # rollups and `counted` flags included
        postings = await db.postings.find({}, {"events": 0}).to_list()
        clock = min([_utc(d["max_event_at"]) async for d in db.consumer_offsets.find({})])
    finally:
        await client.close()
    return postings, clock


@pytest.fixture
async def api(mongo_settings: MongoSettings) -> Any:
    app = build_app(ApiSettings(), mongo_settings, load_taxonomy().roles)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Api(http)


FILTERS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # (name, GraphQL filter, oracle filter); None values in the oracle are resolved below.
    ("one metro", {"metros": ["New York"]}, {"metros": {"New York"}}),
    (
        "metros x seniorities",
        {"metros": ["san-francisco", "NEW YORK"], "seniorities": ["SENIOR", "LEAD"]},
        {"metros": {"San Francisco", "New York"}, "seniorities": {"senior", "lead"}},
    ),
    (
        "seniority x work mode",
        {"seniorities": ["MID"], "workModes": ["REMOTE"]},
        {"seniorities": {"mid"}, "work_modes": {"remote"}},
    ),
    (
        "metro x seniority x work mode",
        {"metros": ["Boston"], "seniorities": ["MID", "SENIOR"], "workModes": ["ONSITE", "HYBRID"]},
        {
            "metros": {"Boston"},
            "seniorities": {"mid", "senior"},
            "work_modes": {"onsite", "hybrid"},
        },
    ),
    ("a place outside the taxonomy", {"metros": ["pittsburgh"]}, {"metros": {"Pittsburgh"}}),
    (
        "work modes only",
        {"workModes": ["UNKNOWN", "ONSITE"]},
        {"work_modes": {"unknown", "onsite"}},
    ),
    ("one skill", {"skills": ["python"]}, {"skills": {"Python"}}),
    ("two skills", {"skills": ["Python", "aws"]}, {"skills": {"Python", "AWS"}}),
    (
        "a skill in a metro",
        {"skills": ["SQL"], "metros": ["New York", "Seattle"]},
        {"skills": {"SQL"}, "metros": {"New York", "Seattle"}},
    ),
    ("posted within a week", {"postedWithinDays": 7}, {"days": 7}),
    (
        "posted within 10 days, senior",
        {"postedWithinDays": 10, "seniorities": ["SENIOR"]},
        {"days": 10, "seniorities": {"senior"}},
    ),
]


async def test_filtered_figures_equal_a_recomputation_from_postings(
    loaded: tuple[list[Doc], datetime], api: Api
) -> None:
    postings, clock = loaded
    jobs = representatives(postings)
    market_open = sum(1 for p in jobs if p["role"] is not None)
    for slug in (SWE, PM):
        role_jobs = [p for p in jobs if p["role"] == slug]
        top = ranked(Counter(p["company"] for p in role_jobs), 3)
        filters = [
            *FILTERS,
            # A company by slug and another by case; the postings path.
            (
                "companies",
                {"companies": [_slug(top[0]["name"]), top[1]["name"].upper()]},
                {"companies": {top[0]["name"], top[1]["name"]}},
            ),
            (
                "a company at one level",
                {"companies": [top[2]["name"]], "seniorities": ["MID", "SENIOR"]},
                {"companies": {top[2]["name"]}, "seniorities": {"mid", "senior"}},
            ),
            ("no filter", {}, {}),
        ]
        for name, gql, oracle in filters:
            selected = [p for p in role_jobs if matches(p, oracle, clock)]
            got = await api.role(slug, gql)
            want = expected(selected, clock, market_open)
            assert {k: got[k] for k in want} == want, f"{slug}, {name}"
            assert len(selected) > 0 or name == "a place outside the taxonomy", (slug, name)


async def test_unfiltered_role_is_unchanged_and_new_figures_come_from_rollups(
    loaded: tuple[list[Doc], datetime], api: Api
) -> None:
    postings, clock = loaded
    jobs = representatives(postings)
    market_open = sum(1 for p in jobs if p["role"] is not None)
    role_jobs = [p for p in jobs if p["role"] == SWE]
    plain = await api.post(
        "query R($slug: String!) { role(slug: $slug) { ...F } }" + FIGURES, {"slug": SWE}
    )
    assert plain["data"]["role"] == await api.role(SWE, None) == await api.role(SWE, {})
    want = expected(role_jobs, clock, market_open)
    assert {k: plain["data"]["role"][k] for k in want} == want


async def test_compare_roles_under_a_filter(loaded: tuple[list[Doc], datetime], api: Api) -> None:
    postings, clock = loaded
    jobs = representatives(postings)
    oracle = {"seniorities": {"senior", "lead", "executive"}}
    side = {
        slug: [p for p in jobs if p["role"] == slug and matches(p, oracle, clock)]
        for slug in (SWE, PM)
    }
    averages = {slug: sum(_mids(ps)) / len(_mids(ps)) for slug, ps in side.items()}
    body = await api.post(
        """query C($f: PostingFilter) { compareRoles(a: "ai-software-engineer",
             b: "ai-product-manager", salaryBasis: MIDPOINT, filter: $f) {
             premiumPct a { openPositions salary { n average } } b { openPositions } } }""",
        {"f": {"seniorities": ["SENIOR", "LEAD", "EXECUTIVE"]}},
    )
    cmp = body["data"]["compareRoles"]
    assert cmp["a"]["openPositions"] == len(side[SWE])
    assert cmp["b"]["openPositions"] == len(side[PM])
    assert cmp["a"]["salary"]["n"] == len(_mids(side[SWE]))
    assert cmp["premiumPct"] == pytest.approx((averages[SWE] / averages[PM] - 1) * 100)


async def test_filter_errors_and_unknown_companies(
    loaded: tuple[list[Doc], datetime], api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = await api.post(ROLE_QUERY, {"slug": SWE, "filter": {"metros": ["Sna Francisco"]}})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "San Francisco" in error["message"]
    assert "Sna Francisco" in error["message"]
    assert error["extensions"]["validNames"][0] == "San Francisco"
    assert len(error["extensions"]["validNames"]) <= 20

    body = await api.post(ROLE_QUERY, {"slug": SWE, "filter": {"skills": ["Pyhton"]}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Python" in body["errors"][0]["extensions"]["validNames"]

    # An employer with no open posting of the role is no mistake: the figures of nothing.
    nobody = await api.role(SWE, {"companies": ["No Such Employer Inc"]})
    assert nobody["openPositions"] == 0
    assert nobody["salary"]["n"] == 0
    assert nobody["topCompanies"] == []
    assert nobody["medianPostingAgeDays"] is None

    body = await api.post(
        '{ role(slug: "ai-software-engineer", filter: {metros: ["New York"]}) '
        "{ weeklyTrend(weeks: 2) { week } } }",
        {},
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "weeklyTrend" in body["errors"][0]["message"]

    # A filter whose narrowest index range is over the read limit is refused before any read.
    monkeypatch.setattr(slicing, "MAX_POSTINGS_READ", 5)
    body = await api.post(ROLE_QUERY, {"slug": SWE, "filter": {"postedWithinDays": 30}})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["scanMax"] > 5
    # ...while the rollups answer at any size.
    body = await api.post(ROLE_QUERY, {"slug": SWE, "filter": {"metros": ["New York"]}})
    assert "errors" not in body
    monkeypatch.undo()

    # Filters are priced by what answers them (services/graphql/filters.py).
    cells = await api.post(ROLE_QUERY, {"slug": SWE, "filter": {"metros": ["Boston"]}})
    postings = await api.post(ROLE_QUERY, {"slug": SWE, "filter": {"companies": ["x"]}})
    plain = await api.post(ROLE_QUERY, {"slug": SWE})
    base = plain["extensions"]["cost"]["requested"]
    assert cells["extensions"]["cost"]["requested"] == base + 10
    assert postings["extensions"]["cost"]["requested"] == base + 1_000


def _mids(jobs: Iterable[Doc]) -> list[int]:
    return [
        (p["salary"]["annual_min_usd"] + p["salary"]["annual_max_usd"] + 1) // 2
        for p in jobs
        if p["salary"] and "salary_implausible" not in p["flags"]
    ]


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


async def test_the_runbook_rebuild_restores_rollups_and_counted_flags(
    loaded: tuple[list[Doc], datetime], api: Api, mongo_settings: MongoSettings
) -> None:
    before = await api.role(PM, {"metros": ["Boston"]})
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_settings.uri, tz_aware=True)
    try:
        db = client[mongo_settings.database]
        states = {d["_id"]: doc_to_state(d) async for d in db.postings.find({}, {"events": 0})}
        docs = rebuilt_documents(states)
        # What an older consumer left: no rollups, no flags (deploy/RUNBOOK.md).
        for collection in ("role_cells", "role_skills", "role_totals"):
            await db[collection].delete_many({})
        await db.postings.update_many({}, {"$unset": {"counted": ""}})
        assert len(await aggregate_differences(db)) > len(states)
        for collection, documents in docs.items():
            await db[collection].delete_many({})
            if documents:
                await db[collection].insert_many(documents)
        counted = sorted(counted_keys(states))
        await db.postings.update_many({}, {"$set": {"counted": False}})
        await db.postings.update_many({"_id": {"$in": counted}}, {"$set": {"counted": True}})
        assert await aggregate_differences(db) == []
    finally:
        await client.close()
    # Another spelling: a body the response cache has not seen (the version did not move).
    assert await api.role(PM, {"metros": ["boston"]}) == before
