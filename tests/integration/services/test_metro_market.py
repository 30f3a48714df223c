"""Issue 10 on a second market: the metro-levels market (rolepulse/demo/metro_market.py) through
Kafka, the real consumer, SecantusDB and the HTTP API; filtered figures, drill-down pages and the
market totals equal a recomputation from the generator's own labels.

The oracle below reads nothing rolepulse computed: it takes each board posting's intended role,
metro, seniority, work mode, employer, skills, annual USD pay and lifecycle outcome as the
generator recorded them (tests/unit/demo/test_metro_market.py checks the normalizer agrees),
picks each job's counted board posting by README's rule (an open one, earliest first seen, then
posting key), filters with plain comparisons and interpolates quantiles over sorted lists. The
market is loaded once per module: publishing and consuming it is most of this file's time.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import httpx
import pytest
import uvicorn
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.websockets import WebsocketsTransport
from pymongo import AsyncMongoClient, MongoClient

from rolepulse.catchup import wait_consumed
from rolepulse.consumers.main import run_consumer
from rolepulse.consumers.verify import aggregate_differences
from rolepulse.demo.metro_market import BoardPosting, Market, generate
from rolepulse.demo.metro_shape import METROS, ROLES, PublishedPay, ecb_rates
from rolepulse.demo.render import stamp
from rolepulse.devservices import LocalServices
from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.publish import publish_lines
from rolepulse.services.main import build_app
from rolepulse.settings import ApiSettings, ConsumerSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

Doc = dict[str, Any]
METRO_NAMES = [m.name for m in METROS if m.name is not None]
LLM, DS = "llm-engineer", "data-scientist"


# ---- the oracle: figures from the generator's labels -----------------------------------------


def counted_jobs(postings: Iterable[BoardPosting]) -> list[BoardPosting]:
    """Open jobs, each as the board posting it counts through: the open one first seen earliest
    (then by posting key). A job whose every board closed it is no open job."""
    boards: dict[int, list[BoardPosting]] = defaultdict(list)
    for p in postings:
        boards[p.job].append(p)
    out = []
    for members in boards.values():
        live = [m for m in members if m.open]
        if live:
            out.append(min(live, key=lambda m: (m.first_seen, m.key)))
    return out


@dataclass(frozen=True)
class Slice:
    """A `PostingFilter` as plain sets of canonical values; None does not restrict."""

    metros: frozenset[str] | None = None
    seniorities: frozenset[Seniority] | None = None
    work_modes: frozenset[WorkMode] | None = None
    companies: frozenset[str] | None = None
    skills: frozenset[str] | None = None
    days: int | None = None
    spelling: int = field(default=0, compare=False)  # which spelling of names GraphQL gets

    def admits(self, j: BoardPosting, clock: datetime) -> bool:
        return (
            (self.metros is None or j.metro in self.metros)
            and (self.seniorities is None or j.seniority in self.seniorities)
            and (self.work_modes is None or j.work_mode in self.work_modes)
            and (self.companies is None or j.company in self.companies)
            and (self.skills is None or self.skills <= j.skills)
            and (self.days is None or j.first_seen >= clock - timedelta(days=self.days))
        )

    def gql(self) -> Doc:
        """The filter as a client writes it: names by canonical name, slug or in capitals."""
        out: Doc = {}
        if self.metros is not None:
            out["metros"] = [
                _spelled(m, self.spelling + i) for i, m in enumerate(sorted(self.metros))
            ]
        if self.seniorities is not None:
            out["seniorities"] = [s.name for s in self.seniorities]
        if self.work_modes is not None:
            out["workModes"] = [m.name for m in self.work_modes]
        if self.companies is not None:
            out["companies"] = [
                _spelled(c, self.spelling + i) for i, c in enumerate(sorted(self.companies))
            ]
        if self.skills is not None:
            out["skills"] = [s if self.spelling % 2 else s.lower() for s in sorted(self.skills)]
        if self.days is not None:
            out["postedWithinDays"] = self.days
        return out


def _spelled(name: str, variant: int) -> str:
    slug = "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
    return (name, slug, name.upper())[variant % 3]


def quantile(values: Sequence[int], q: Fraction) -> float | None:
    """numpy's default (linear) quantile over a sorted list, exact until the final float."""
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    if lo + 1 >= len(xs):
        return float(xs[lo])
    return float(xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo]))


def ranked(counts: Counter[str], limit: int) -> list[Doc]:
    pairs = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"name": k, "count": v} for k, v in pairs]


def approx(x: float | None) -> Any:
    return None if x is None else pytest.approx(x, rel=1e-9)


def pay_figures(values: Sequence[int]) -> Doc:
    """Figures of one basis over the disclosed, plausible pay of some jobs."""
    n = len(values)
    return {
        "n": n,
        "p10": approx(quantile(values, Fraction(1, 10))),
        "p25": approx(quantile(values, Fraction(1, 4))),
        "median": approx(quantile(values, Fraction(1, 2))),
        "p75": approx(quantile(values, Fraction(3, 4))),
        "p90": approx(quantile(values, Fraction(9, 10))),
        "average": approx(sum(values) / n) if n else None,
        "low": min(values) if values else None,
        "high": max(values) if values else None,
    }


def paid_ranges(jobs: Iterable[BoardPosting]) -> list[tuple[BoardPosting, int, int, int]]:
    """(job, annual min, annual max, midpoint) of the jobs with disclosed, plausible pay."""
    return [
        (j, j.pay.annual_min, j.pay.annual_max, (j.pay.annual_min + j.pay.annual_max + 1) // 2)
        for j in jobs
        if j.pay is not None and j.pay.plausible
    ]


def salary_of(jobs: Iterable[BoardPosting]) -> Doc:
    """`salary` on the midpoint basis, with the means of both ends."""
    paid = paid_ranges(jobs)
    n = len(paid)
    return pay_figures([m for *_, m in paid]) | {
        "avgMin": approx(sum(lo for _, lo, _, _ in paid) / n) if n else None,
        "avgMax": approx(sum(hi for _, _, hi, _ in paid) / n) if n else None,
    }


def paying_companies(jobs: Iterable[BoardPosting], min_postings: int) -> list[Doc]:
    pay: dict[str, list[int]] = defaultdict(list)
    for j, *_, mid in paid_ranges(jobs):
        if j.company is not None:
            pay[j.company].append(mid)
    rows = sorted(
        ((c, len(v), sum(v) / len(v)) for c, v in pay.items() if len(v) >= min_postings),
        key=lambda t: (-t[2], t[0]),
    )
    return [{"name": c, "n": k, "average": approx(a)} for c, k, a in rows]


def remote_pct(jobs: Sequence[BoardPosting]) -> Any:
    remote = sum(j.work_mode is WorkMode.REMOTE for j in jobs)
    return approx(remote / len(jobs) * 100) if jobs else None


def expected(jobs: Sequence[BoardPosting], market_open: int, clock: datetime) -> Doc:
    """Every figure of FIGURES over `jobs` (the counted open jobs a slice selects)."""
    paid = paid_ranges(jobs)
    n, total = len(paid), len(jobs)
    buckets = Counter(mid // 25_000 * 25_000 for *_, mid in paid)
    ages = [max((clock.date() - j.first_seen.date()).days, 0) for j in jobs]
    levels = Counter(j.seniority for j in jobs)
    modes = Counter(j.work_mode for j in jobs)
    sources = Counter(j.pay.source for j, *_ in paid if j.pay)
    salary = salary_of(jobs) | {
        "lowConfidence": n < 10,
        "histogram": [
            {"from": b, "to": b + 25_000, "count": buckets[b]}
            for b in range(min(buckets, default=0), max(buckets, default=-1) + 1, 25_000)
        ],
        "provenance": {"structured": sources["structured"], "text": sources["text"],
                       "description": 0},
    }  # fmt: skip
    by_max = pay_figures([hi for _, _, hi, _ in paid])
    by_min = pay_figures([lo for _, lo, _, _ in paid])
    return {
        "openPositions": total,
        "shareOfMarketPct": approx(total / market_open * 100),
        "remotePct": remote_pct(jobs),
        "lowConfidence": n < 10,
        "medianPostingAgeDays": approx(quantile(ages, Fraction(1, 2))),
        "salary": salary,
        "byMax": {k: by_max[k] for k in ("n", "p25", "median", "p75", "average", "low", "high")},
        "byMin": {k: by_min[k] for k in ("median", "average", "low", "high")},
        "experienceMix": {s.value: levels[s] for s in Seniority},
        "workModes": {m.value: modes[m] for m in WorkMode},
        "topSkills": ranked(Counter(s for j in jobs for s in j.skills), 30),
        "topCompanies": ranked(Counter(j.company for j in jobs if j.company), 25),
        "topMetros": ranked(Counter(j.metro for j in jobs if j.metro), 15),
        "topPayingCompanies": paying_companies(jobs, 2),
    }


def listing(jobs: Iterable[BoardPosting], by_pay: bool) -> list[str]:
    """Drill-down order: newest first (first seen, then key), or best paid first (top of the
    annual range, then newest); by pay only jobs with disclosed, plausible pay."""
    if by_pay:
        paid = [j for j in jobs if j.pay is not None and j.pay.plausible]
        ordered = sorted(
            paid, key=lambda j: (j.pay.annual_max if j.pay else 0, j.first_seen, j.key)
        )
    else:
        ordered = sorted(jobs, key=lambda j: (j.first_seen, j.key))
    return [j.key for j in reversed(ordered)]


# ---- the system: the market through Kafka and the consumer, once per module --------------------


@dataclass(frozen=True)
class Loaded:
    market: Market
    kafka: KafkaSettings
    mongo: MongoSettings
    jobs: list[BoardPosting]  # counted open jobs, AI or not

    @property
    def ai_jobs(self) -> list[BoardPosting]:
        return [j for j in self.jobs if j.role is not None]


async def _consume(kafka: KafkaSettings, mongo: MongoSettings, lines: Sequence[bytes]) -> None:
    ends = await publish_lines(lines, kafka)
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumer(kafka, mongo, ConsumerSettings(max_batch=500), stop))
    try:
        await wait_consumed(mongo, kafka.topic, ends, timeout_s=180)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def _check_store(mongo: MongoSettings) -> datetime:
    """Nothing dead-lettered, every rollup equal to `verify`'s rebuild; the stream clock."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo.uri, tz_aware=True)
    try:
        db = client[mongo.database]
        assert await db.rejects.count_documents({}) == 0
        assert await aggregate_differences(db) == []
        clock: datetime = min([d["max_event_at"] async for d in db.consumer_offsets.find({})])
        return clock
    finally:
        await client.close()


@pytest.fixture(scope="module")
def loaded(local_services: LocalServices) -> Iterator[Loaded]:
    market = generate(ecb_rates())
    name = f"t_metro_market_{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(
        bootstrap_servers=local_services.kafka_bootstrap,
        topic=f"{name}.postings",
        dlq_topic=f"{name}.postings.dlq",
        group_id=f"{name}.consumer",
        session_timeout_ms=6_000,
        heartbeat_interval_ms=500,
    )
    mongo = MongoSettings(uri=local_services.mongo_uri, database=name)
    try:
        asyncio.run(_consume(kafka, mongo, [json.dumps(e).encode() for e in market.events]))
        clock = asyncio.run(_check_store(mongo))
        assert clock == market.clock  # postedWithinDays and ages count from it
        yield Loaded(market, kafka, mongo, counted_jobs(market.postings))
    finally:
        client: MongoClient[Doc] = MongoClient(mongo.uri)
        client.drop_database(mongo.database)
        client.close()


class Api:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: Mapping[str, Any] | None = None) -> Doc:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: Doc = response.json()
        assert "errors" not in body, (variables, body["errors"])
        data: Doc = body["data"]
        return data


@pytest.fixture
async def api(loaded: Loaded) -> AsyncIterator[Api]:
    app = build_app(ApiSettings(), loaded.mongo, load_taxonomy().roles)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Api(http)


# ---- figures --------------------------------------------------------------------------------

FIGURES = """
fragment F on Role {
  openPositions shareOfMarketPct remotePct lowConfidence medianPostingAgeDays
  salary {
    n avgMin avgMax p10 p25 median average p75 p90 low high lowConfidence
    histogram(bucketWidth: 25000) { from to count }
    provenance { structured text description }
  }
  byMax: salary(basis: MAX) { n p25 median p75 average low high }
  byMin: salary(basis: MIN) { median average low high }
  experienceMix { entry mid senior lead executive }
  workModes { remote hybrid onsite unknown }
  topSkills(limit: 30) { name count }
  topCompanies(limit: 25) { name count }
  topMetros(limit: 15) { name count }
  topPayingCompanies(limit: 25, minPostings: 2) { name n average }
}
"""
ROLE = "query R($slug: String!, $f: PostingFilter) { role(slug: $slug, filter: $f) { ...F } }"


def one(
    *,
    metros: str | None = None,
    seniorities: Seniority | None = None,
    work_modes: WorkMode | None = None,
    companies: str | None = None,
    skills: str | None = None,
    days: int | None = None,
    spelling: int = 0,
) -> Slice:
    """A slice of single values: `one(metros="London", seniorities=Seniority.LEAD)`."""

    def single(value: Any) -> frozenset[Any] | None:
        return None if value is None else frozenset([value])

    return Slice(single(metros), single(seniorities), single(work_modes), single(companies),
                 single(skills), days, spelling)  # fmt: skip


def cell_slices() -> Iterator[tuple[str, Slice]]:
    """Every metro x seniority of two roles (the cell rollups, sub-cells summed)."""
    for slug in (LLM, DS):
        for i, metro in enumerate(METRO_NAMES):
            for level in Seniority:
                yield slug, one(metros=metro, seniorities=level, spelling=i)


def dimension_slices() -> Iterator[tuple[str, Slice]]:
    """Each metro, seniority and work mode of every role, a few mixes, and no filter."""
    for shape in ROLES:
        slug = shape.role
        yield slug, Slice()
        for i, metro in enumerate(METRO_NAMES):
            yield slug, one(metros=metro, spelling=i)
        for level in Seniority:
            yield slug, one(seniorities=level)
        for mode in WorkMode:
            yield slug, one(work_modes=mode)
        yield (
            slug,
            Slice(
                metros=frozenset({"San Francisco", "London"}),
                seniorities=frozenset({Seniority.SENIOR, Seniority.LEAD}),
                work_modes=frozenset({WorkMode.HYBRID, WorkMode.ONSITE}),
            ),
        )
        yield (
            slug,
            Slice(
                metros=frozenset({"Bengaluru", "Toronto", "Berlin"}),
                work_modes=frozenset({WorkMode.REMOTE, WorkMode.ONSITE}),
                spelling=1,
            ),
        )


def posting_slices(jobs: Sequence[BoardPosting]) -> Iterator[tuple[str, Slice]]:
    """Skills (the skill rollups, alone), employers, several skills, a skill with a metro and
    recency: what the consumer's rollups cannot answer alone."""
    for shape in ROLES:
        slug = shape.role
        mine = [j for j in jobs if j.role == slug]
        skills = [s["name"] for s in ranked(Counter(s for j in mine for s in j.skills), 30)]
        companies = [c["name"] for c in ranked(Counter(j.company for j in mine if j.company), 30)]
        yield slug, one(skills=skills[1])
        yield slug, one(skills=skills[-1], spelling=1)
        yield slug, Slice(skills=frozenset(skills[1:3]))
        yield slug, Slice(skills=frozenset(skills[1:2]), metros=frozenset({"San Francisco"}))
        yield slug, one(companies=companies[0])
        yield slug, Slice(companies=frozenset(companies[1:3]), spelling=1)
        yield (
            slug,
            Slice(
                companies=frozenset(companies[:4]),
                seniorities=frozenset({Seniority.SENIOR, Seniority.LEAD, Seniority.EXECUTIVE}),
                spelling=2,
            ),
        )
        yield slug, one(days=7)
        yield slug, one(days=14, seniorities=Seniority.MID)
        yield slug, Slice(days=10, metros=frozenset({"New York", "London"}))


async def assert_role_figures(api: Api, loaded: Loaded, slices: Iterable[tuple[str, Slice]]) -> int:
    clock, ai = loaded.market.clock, loaded.ai_jobs
    checked = 0
    for slug, s in slices:
        data = await api.post(ROLE + FIGURES, {"slug": slug, "f": s.gql() or None})
        jobs = [j for j in ai if j.role == slug and s.admits(j, clock)]
        want = expected(jobs, len(ai), clock)
        got = {k: data["role"][k] for k in want}
        assert got == want, (slug, s)
        checked += 1
    return checked


async def test_every_metro_by_seniority_of_two_roles(api: Api, loaded: Loaded) -> None:
    assert await assert_role_figures(api, loaded, cell_slices()) == 2 * 11 * 5


async def test_each_dimension_of_every_role(api: Api, loaded: Loaded) -> None:
    assert await assert_role_figures(api, loaded, dimension_slices()) == 5 * (1 + 11 + 5 + 4 + 2)


async def test_skills_employers_and_recency(api: Api, loaded: Loaded) -> None:
    slices = list(posting_slices(loaded.ai_jobs))
    assert await assert_role_figures(api, loaded, slices) == 5 * 10


# ---- the market and the drill-down -----------------------------------------------------------


async def test_market_totals(api: Api, loaded: Loaded) -> None:
    data = await api.post(
        "{ market { openPositions openPostingsAllRoles postingsSeen boardPostingsSeen "
        "crossBoardDuplicates roles { slug openPositions } } }"
    )
    postings = loaded.market.postings
    jobs_seen = len({p.job for p in postings})
    per_role = Counter(j.role for j in loaded.ai_jobs)
    assert data["market"] == {
        "openPositions": len(loaded.ai_jobs),
        "openPostingsAllRoles": len(loaded.jobs),
        "postingsSeen": jobs_seen,
        "boardPostingsSeen": len(postings),
        "crossBoardDuplicates": len(postings) - jobs_seen,
        "roles": [{"slug": r, "openPositions": per_role[r]} for r in load_taxonomy().roles],
    }


PAGE = """query P($role: String, $f: PostingFilter, $after: String, $order: PostingOrder!) {
  postings(role: $role, filter: $f, first: 100, after: $after, orderBy: $order) {
    totalCount totalCountIsLowerBound
    pageInfo { hasNextPage endCursor }
    edges { node { id metro seniority workMode company salary { annualMaxUsd } } }
  }
}"""
DRILL_DOWNS: list[tuple[str | None, Slice, bool]] = [
    (LLM, Slice(), False),
    (LLM, Slice(), True),
    (None, Slice(metros=frozenset({"London", "Berlin"})), False),
    (DS, one(seniorities=Seniority.ENTRY), True),
    ("research-scientist", one(metros="San Francisco", seniorities=Seniority.LEAD), False),
    (None, one(companies="Hooli", spelling=1), False),
    ("ai-ml-engineer", one(skills="PyTorch"), False),
    (None, Slice(days=7, work_modes=frozenset({WorkMode.REMOTE})), True),
    (None, Slice(skills=frozenset({"Python", "SQL"}), metros=frozenset({"Bengaluru"})), False),
]


@pytest.mark.parametrize(("role", "s", "by_pay"), DRILL_DOWNS)
async def test_the_drill_down_lists_exactly_the_counted_jobs(
    api: Api, loaded: Loaded, role: str | None, s: Slice, by_pay: bool
) -> None:
    clock = loaded.market.clock
    jobs = [j for j in loaded.ai_jobs if (role is None or j.role == role) and s.admits(j, clock)]
    want = listing(jobs, by_pay)
    assert want, "a drill-down over nothing proves little"
    order = "SALARY_DESC" if by_pay else "FIRST_SEEN_DESC"
    ids: list[str] = []
    after = None
    while True:
        variables = {"role": role, "f": s.gql() or None, "after": after, "order": order}
        page = (await api.post(PAGE, variables))["postings"]
        assert (page["totalCount"], page["totalCountIsLowerBound"]) == (len(want), False)
        ids += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert ids == want


# ---- metros, companies and skills as entities: every AI role together -------------------------

SALARY = "salary { n avgMin avgMax p10 p25 median average p75 p90 low high }"
ROLE_ROWS = """roles { slug openPositions remotePct salary { n median average }
  experienceMix { entry mid senior lead executive } }"""
ENTITY = f"""name slug openPositions shareOfMarketPct remotePct {SALARY}
  topSkills(limit: 30) {{ name count }} {ROLE_ROWS}"""
METRO = f"""query M($name: String!) {{ metro(name: $name) {{ {ENTITY}
  topCompanies(limit: 25) {{ name count }}
  topPayingCompanies(limit: 25, minPostings: 2) {{ name n average }} }} }}"""
COMPANY = f"""query C($name: String!) {{ company(name: $name) {{ {ENTITY}
  topMetros(limit: 15) {{ name count }} }} }}"""
METROS_PAGE = """{ metros(first: 100) { totalCount pageInfo { hasNextPage }
  edges { node { name slug openPositions } } } }"""
COMPANIES_PAGE = """query C($f: PostingFilter) { companies(first: 100, filter: $f) {
  totalCount pageInfo { hasNextPage }
  edges { node { name openPositions salary { n avgMin avgMax average } } } } }"""
SIDE = "n p25 median average p75 low high"
SKILL = f"""query S($name: String!) {{ skill(name: $name) {{ name openPositions shareOfMarketPct
  roles {{ role {{ slug }} openPositions demandSharePct
    pay {{ withSkill {{ {SIDE} }} withoutSkill {{ {SIDE} }}
          premiumPct medianPremiumPct lowConfidence }} }} }} }}"""
SKILLS_PAGE = """query P($role: String) { skills(first: 100, role: $role) {
  totalCount pageInfo { hasNextPage } edges { openPositions sharePct node { name } } } }"""


def entity(name: str, jobs: Sequence[BoardPosting], market_open: int) -> Doc:
    """What a metro or a company shares: its jobs over every AI role, and each role's."""
    by_role: dict[str | None, list[BoardPosting]] = defaultdict(list)
    for j in jobs:
        by_role[j.role].append(j)
    roles = sorted(by_role.items(), key=lambda kv: (-len(kv[1]), kv[0] or ""))
    return {
        "name": name,
        "slug": _spelled(name, 1),
        "openPositions": len(jobs),
        "shareOfMarketPct": approx(len(jobs) / market_open * 100),
        "remotePct": remote_pct(jobs),
        "salary": salary_of(jobs),
        "topSkills": ranked(Counter(s for j in jobs for s in j.skills), 30),
        "roles": [
            {
                "slug": role,
                "openPositions": len(group),
                "remotePct": remote_pct(group),
                "salary": {k: salary_of(group)[k] for k in ("n", "median", "average")},
                "experienceMix": {s.value: sum(j.seniority is s for j in group) for s in Seniority},
            }
            for role, group in roles
        ],
    }


def ranking(data: Doc, *fields: str) -> list[Doc]:
    """A connection's nodes (or edges' fields), checked to be one whole page."""
    assert data["pageInfo"]["hasNextPage"] is False
    assert data["totalCount"] == len(data["edges"])
    return [{f: (e["node"] if f in e["node"] else e)[f] for f in fields} for e in data["edges"]]


async def test_metros_as_entities(api: Api, loaded: Loaded) -> None:
    ai = loaded.ai_jobs
    metros = (await api.post(METROS_PAGE))["metros"]
    want = ranked(Counter(j.metro for j in ai if j.metro), 100)
    got = ranking(metros, "name", "openPositions")
    assert got == [{"name": w["name"], "openPositions": w["count"]} for w in want]
    for i, name in enumerate(METRO_NAMES):
        here = [j for j in ai if j.metro == name]
        metro = (await api.post(METRO, {"name": _spelled(name, i)}))["metro"]
        assert metro == entity(name, here, len(ai)) | {
            "topCompanies": ranked(Counter(j.company for j in here if j.company), 25),
            "topPayingCompanies": paying_companies(here, 2),
        }, name


COMPANY_RANKINGS = [
    Slice(),
    Slice(metros=frozenset({"London", "Berlin"})),
    one(seniorities=Seniority.EXECUTIVE),
    one(work_modes=WorkMode.REMOTE),
    one(skills="CUDA"),
    one(days=5),
]


async def test_companies_as_entities(api: Api, loaded: Loaded) -> None:
    ai, clock = loaded.ai_jobs, loaded.market.clock
    for i, name in enumerate(sorted({j.company for j in ai if j.company})):
        theirs = [j for j in ai if j.company == name]
        company = (await api.post(COMPANY, {"name": _spelled(name, i)}))["company"]
        assert company == entity(name, theirs, len(ai)) | {
            "topMetros": ranked(Counter(j.metro for j in theirs if j.metro), 15)
        }, name
    for s in COMPANY_RANKINGS:
        selected = [j for j in ai if s.admits(j, clock) and j.company]
        got = ranking((await api.post(COMPANIES_PAGE, {"f": s.gql() or None}))["companies"], "name",
                      "openPositions", "salary")  # fmt: skip
        want = []
        for row in ranked(Counter(j.company for j in selected if j.company), 100):
            theirs = [j for j in selected if j.company == row["name"]]
            pay = salary_of(theirs)
            salary = {k: pay[k] for k in ("n", "avgMin", "avgMax", "average")}
            want.append({"name": row["name"], "openPositions": row["count"], "salary": salary})
        assert got == want, s


def premium(a: float | None, b: float | None) -> Any:
    return None if a is None or b is None else approx((a / b - 1) * 100)


def skill_entity(skill: str, ai: Sequence[BoardPosting], order: Sequence[str]) -> Doc:
    """A skill's demand per role, and the role's pay with it against without it."""
    mentioning = Counter(j.role for j in ai if skill in j.skills)
    rows = []
    for role, count in sorted(
        mentioning.items(), key=lambda kv: (-kv[1], order.index(kv[0] or ""))
    ):
        of_role = [j for j in ai if j.role == role]
        sides = [[m for *_, m in paid_ranges(j for j in of_role if (skill in j.skills) is w)]
                 for w in (True, False)]  # fmt: skip
        figures = [pay_figures(mids) for mids in sides]
        averages = [sum(m) / len(m) if m else None for m in sides]
        medians = [quantile(m, Fraction(1, 2)) for m in sides]
        keep = ("n", "p25", "median", "average", "p75", "low", "high")
        rows.append({
            "role": {"slug": role},
            "openPositions": count,
            "demandSharePct": approx(count / len(of_role) * 100),
            "pay": {
                "withSkill": {k: figures[0][k] for k in keep},
                "withoutSkill": {k: figures[1][k] for k in keep},
                "premiumPct": premium(*averages),
                "medianPremiumPct": premium(*medians),
                "lowConfidence": min(len(sides[0]), len(sides[1])) < 10,
            },
        })  # fmt: skip
    total = sum(mentioning.values())
    return {"name": skill, "openPositions": total,
            "shareOfMarketPct": approx(total / len(ai) * 100), "roles": rows}  # fmt: skip


async def test_skills_as_entities_with_and_without_pay(api: Api, loaded: Loaded) -> None:
    ai = loaded.ai_jobs
    order = list(load_taxonomy().roles)
    skills = sorted({s for j in ai for s in j.skills})
    assert len(skills) == 23
    for i, skill in enumerate(skills):
        got = (await api.post(SKILL, {"name": skill if i % 2 else skill.upper()}))["skill"]
        assert got == skill_entity(skill, ai, order), skill
    for role in (None, *(shape.role for shape in ROLES)):
        scope = [j for j in ai if role is None or j.role == role]
        want = [
            {"name": r["name"], "openPositions": r["count"],
             "sharePct": approx(r["count"] / len(scope) * 100)}
            for r in ranked(Counter(s for j in scope for s in j.skills), 100)
        ]  # fmt: skip
        got = (await api.post(SKILLS_PAGE, {"role": role}))["skills"]
        assert ranking(got, "name", "openPositions", "sharePct") == want, role


async def test_the_market_trend_ends_at_the_open_set(api: Api, loaded: Loaded) -> None:
    """The newest week holds the clock and nothing happened after it: its point is the market
    as it stands (the weeks before depend on arrival order for late events; not recomputed)."""
    ai = loaded.ai_jobs
    data = (await api.post(
        "{ market { asOf weeklyTrend(weeks: 1) { week openPositions remotePct experienceMix "
        "{ entry mid senior lead executive } salary { n p25 median p75 average } } } }"
    ))["market"]  # fmt: skip
    assert datetime.fromisoformat(data["asOf"]) == loaded.market.clock
    year, week, _ = loaded.market.clock.isocalendar()
    pay = pay_figures([m for *_, m in paid_ranges(ai)])
    assert data["weeklyTrend"] == [{
        "week": f"{year}-W{week:02d}",
        "openPositions": len(ai),
        "remotePct": remote_pct(ai),
        "experienceMix": {s.value: sum(j.seniority is s for j in ai) for s in Seniority},
        "salary": {k: pay[k] for k in ("n", "p25", "median", "p75", "average")},
    }]  # fmt: skip


# ---- live: a filtered subscription hears of a change to its slice, and only of that ----------
# Last in the file: it changes two postings' pay and puts it back, so the market ends as it was.

LIVE = """subscription L($slug: String!, $f: PostingFilter) {
  roleUpdated(slug: $slug, filter: $f) { openPositions salary { n median average } } }"""
QUIET_S = 1.5  # a push comes within a second of the commit; none within this means none


def live_figures(jobs: Sequence[BoardPosting]) -> Doc:
    pay = salary_of(jobs)
    return {"roleUpdated": {"openPositions": len(jobs),
                            "salary": {k: pay[k] for k in ("n", "median", "average")}}}  # fmt: skip


def reobservation(market: Market, key: str, pay: tuple[int, int] | None, at: datetime) -> bytes:
    """`key`'s newest observation again at `at`, with a yearly USD `pay` (None: as it was)."""
    mine = [e for e in market.events if e["event_type"] == "posting.observed" and _key(e) == key]
    event: Doc = json.loads(json.dumps(max(mine, key=lambda e: str(e["occurred_at"]))))
    event |= {"event_id": str(uuid.uuid4()), "occurred_at": stamp(at)}
    if pay is not None:
        event["posting"] |= {"salary": _usd(*pay), "salary_text": None}
    return json.dumps(event).encode()


def _key(event: Mapping[str, Any]) -> str:
    return f"{event['source']}:{event['posting']['source_id']}"


def _usd(lo: int, hi: int) -> Doc:
    return {"min": lo, "max": hi, "currency": "USD", "period": "year"}


def quiet_jobs(loaded: Loaded, metro: str) -> list[BoardPosting]:
    """Counted jobs in `metro` on one board, with pay, whose last event is 2 h before the clock
    (so an observation 30 to 50 minutes before it is their newest)."""
    last: dict[str, str] = {}
    for e in loaded.market.events:
        last[_key(e)] = max(last.get(_key(e), ""), str(e["occurred_at"]))
    boards = Counter(p.job for p in loaded.market.postings)
    cutoff = stamp(loaded.market.clock - timedelta(hours=2))
    return [
        j
        for j in loaded.ai_jobs
        if j.metro == metro and boards[j.job] == 1 and last[j.key] < cutoff and j.pay is not None
    ]


@asynccontextmanager
async def serving(mongo: MongoSettings) -> AsyncIterator[AsyncClientSession]:
    """The API under uvicorn in this process, and a graphql-transport-ws session with it."""
    app = build_app(ApiSettings(), mongo, load_taxonomy().roles)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio",
                            log_level="error")  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "uvicorn did not start"
            await asyncio.sleep(0.01)
        transport = WebsocketsTransport(
            url=f"ws://127.0.0.1:{port}/graphql",
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
            close_timeout=1,
        )
        async with Client(transport=transport) as session:
            assert isinstance(session, AsyncClientSession)
            yield session
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_a_filtered_subscription_follows_its_slice(loaded: Loaded) -> None:
    inside = quiet_jobs(loaded, "Seattle")[0]
    outside = next(j for j in quiet_jobs(loaded, "Boston") if j.role == inside.role)
    assert inside.pay is not None
    raised = (inside.pay.annual_min + 50_000, inside.pay.annual_max + 50_000)
    s = one(metros="Seattle", seniorities=inside.seniority)
    clock = loaded.market.clock

    def figures(pay: PublishedPay | None = None) -> Doc:
        """The slice's figures, with `inside` paid `pay` (None: as generated)."""
        jobs = [j for j in loaded.ai_jobs if j.role == inside.role and s.admits(j, clock)]
        return live_figures([replace(j, pay=pay) if j is inside and pay else j for j in jobs])

    async def publish(*lines: bytes) -> None:
        ends = await publish_lines(lines, loaded.kafka)
        await wait_consumed(loaded.mongo, loaded.kafka.topic, ends, timeout_s=60)

    stop = asyncio.Event()
    settings = ConsumerSettings(max_batch=50)
    consumer = asyncio.create_task(run_consumer(loaded.kafka, loaded.mongo, settings, stop))
    try:
        async with serving(loaded.mongo) as session:
            request = GraphQLRequest(LIVE, variable_values={"slug": inside.role, "f": s.gql()})
            stream = session.subscribe(request)
            assert await asyncio.wait_for(anext(stream), 10) == figures()
            pending = asyncio.ensure_future(anext(stream))
            # A raise outside the slice (the same role in another metro): nothing to push.
            await publish(reobservation(loaded.market, outside.key, raised, clock - _minutes(50)))
            await asyncio.sleep(QUIET_S)
            assert not pending.done(), "a change outside the filter was pushed"
            # A raise inside it: pushed, the slice's figures moved by exactly that posting.
            await publish(reobservation(loaded.market, inside.key, raised, clock - _minutes(40)))
            new_pay = PublishedPay(_usd(*raised), None, *raised, "structured")
            assert await asyncio.wait_for(pending, 5) == figures(new_pay)
            # Both put back as they were: pushed back to the generated market's figures.
            await publish(
                reobservation(loaded.market, inside.key, None, clock - _minutes(30)),
                reobservation(loaded.market, outside.key, None, clock - _minutes(30)),
            )
            assert await asyncio.wait_for(anext(stream), 5) == figures()
            await stream.aclose()
    finally:
        stop.set()
        await asyncio.wait_for(consumer, 30)
    assert await _check_store(loaded.mongo) == clock


def _minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
