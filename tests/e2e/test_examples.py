"""Every query in examples/ against the seed-page market, with its figures checked.

Each `examples/<name>.graphql` (with `<name>.variables.json` beside it when it takes variables)
is found by glob, so a new example is run without a change here, and fails until CHECKS says
what its figures must be. Queries go over HTTP and subscriptions over a websocket (their first
message) to the session's `seed_market` (tests/e2e/conftest.py: demo-market -> produce ->
Kafka -> consumer -> MongoDB -> serve).

The figures are held to the seed page where its generator fixes them (`rolepulse.demo.seed_page`:
the two seed roles' counts per metro, level, company and skill), and otherwise to a recomputation
from the generated events file itself: each open job's title, location, company, description and
pay read through the generator's own vocabulary (`rolepulse.demo.vocab`: a title names one role
and level, a location one metro), never through the normalizer that produced the figures.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from graphql import DocumentNode, OperationDefinitionNode, OperationType, parse, print_ast

from rolepulse.demo import vocab
from rolepulse.demo.seed_page import AI_PRODUCT_MANAGER, AI_SOFTWARE_ENGINEER, OPEN_AI_TOTAL
from rolepulse.domain.model import Seniority

EXAMPLES = Path(__file__).parents[2] / "examples"
FILES = sorted(EXAMPLES.glob("*.graphql"))
SWE, PM = AI_SOFTWARE_ENGINEER, AI_PRODUCT_MANAGER
COST_SHARE = 4  # "well under the budget": at most a quarter of it


class Api(Protocol):  # tests/e2e/conftest.py's ApiProcess (a conftest cannot be imported)
    @property
    def url(self) -> str: ...


class SeedMarket(Protocol):  # tests/e2e/conftest.py's SeedMarket
    @property
    def events(self) -> Path: ...
    @property
    def api(self) -> Api: ...


# --- the recomputation from the events file ---

ROLE_LEVEL = {
    title: (role, level.name)
    for role, levels in vocab.TITLES.items()
    for level, titles in levels.items()
    for title in titles
}
METRO = {place: metro for metro, places in vocab.LOCATIONS.items() for place in places}
# The published names of one company in the seed market (the seed page: Google 74 = 60 + 14).
COMPANY = {"Google LLC": "Google", "Apple Inc.": "Apple", "Amazon.com": "Amazon",
           "Amazon.com Services LLC": "Amazon", "Intuit Inc.": "Intuit"}  # fmt: skip
PER_YEAR = {"year": 1, "month": 12, "hour": 2080}


@dataclass(frozen=True)
class Job:
    """An open AI job as the generator wrote it: the first board posting of its content."""

    id: str  # "<source>:<source_id>"
    url: str
    role: str
    level: str  # a Seniority name
    metro: str | None  # None: remote-only
    company: str
    text: str  # title and description
    pay: tuple[int, int] | None  # annual USD (min, max)

    def mentions(self, skill: str) -> bool:
        return any(
            re.search(rf"(?<!\w){re.escape(p)}(?!\w)", self.text, re.IGNORECASE)
            for p in vocab.SKILL_PHRASES[skill]
        )


@dataclass(frozen=True)
class Generated:
    """What the events file says the market is."""

    jobs: list[Job]  # the open AI jobs
    newest: datetime  # the latest event time

    def where(self, role: str, filter: dict[str, Any] | None = None) -> list[Job]:
        """The role's open jobs matching a PostingFilter's metros and seniorities."""
        f = filter or {}
        assert set(f) <= {"metros", "seniorities"}, "recompute the other dimensions first"
        metros = {slug(m) for m in f.get("metros", ())}
        return [
            j for j in self.jobs if j.role == role
            and ("metros" not in f or (j.metro is not None and slug(j.metro) in metros))
            and ("seniorities" not in f or j.level in f["seniorities"])
        ]  # fmt: skip


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def generated(events: Path) -> Generated:
    lines = events.read_text().splitlines()
    newest = max(datetime.fromisoformat(json.loads(line)["occurred_at"]) for line in lines)
    return Generated(open_jobs(lines), newest)


def open_jobs(lines: list[str]) -> list[Job]:
    applied: set[str] = set()
    postings: dict[str, dict[str, Any]] = {}
    for line in lines:
        event = json.loads(line)
        if event["event_id"] in applied:
            continue  # a redelivery
        applied.add(event["event_id"])
        key = f"{event['source']}:{event['posting']['source_id']}"
        if event["event_type"] == "posting.closed":
            postings.pop(key, None)
        else:
            postings[key] = event["posting"]
    jobs: dict[str, Job] = {}  # one per content: a cross-post copies its job but id and url
    for key, p in postings.items():
        content = json.dumps({k: v for k, v in p.items() if k not in ("source_id", "url")})
        if p["title"] in ROLE_LEVEL and content not in jobs:
            role, level = ROLE_LEVEL[p["title"]]
            metro = METRO.get((p["location"] or "").removesuffix(" (Hybrid)"))
            company = COMPANY.get(p["company"], p["company"])
            text = f"{p['title']}\n{p['description']}"
            jobs[content] = Job(key, p["url"], role, level, metro, company, text, annual(p))
    return list(jobs.values())


def annual(posting: dict[str, Any]) -> tuple[int, int] | None:
    if salary := posting["salary"]:
        per = PER_YEAR[salary["period"]]
        return salary["min"] * per, salary["max"] * per
    # "$150K–$190K", "$150,000 - $190,000 a year", "$60 - $85 an hour", "Up to $220K"
    text = posting["salary_text"] or ""
    found = re.findall(r"\$([\d,]+)(K?)", text)
    amounts = [int(n.replace(",", "")) * (1000 if k else 1) for n, k in found]
    per = 2080 if "hour" in text else 1
    return (amounts[0] * per, amounts[-1] * per) if amounts else None


def salary_of(jobs: Iterable[Job]) -> dict[str, float]:
    """Salary figures on the examples' basis, MAX (the top of each range), as the seed page's."""
    pays = sorted(j.pay[1] for j in jobs if j.pay)
    if not pays:
        return {"n": 0}
    p25, median, p75 = statistics.quantiles(pays, n=4, method="inclusive")  # numpy's linear
    return {"n": len(pays), "p25": p25, "median": median, "average": statistics.fmean(pays),
            "p75": p75}  # fmt: skip


def assert_salary(got: dict[str, Any], jobs: Iterable[Job]) -> None:
    want = salary_of(jobs)
    for field, value in got.items():
        assert value == pytest.approx(want.get(field)), field  # None without pay


def ranked(counts: Counter[str], limit: int) -> list[dict[str, Any]]:
    """Most first, ties by name, as every top list is."""
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"name": name, "count": count} for name, count in top]


def assert_top_skills(got: list[dict[str, Any]], jobs: list[Job]) -> None:
    """Counts of the skills the generator writes (SKILL_PHRASES); others come from titles
    ("Machine Learning Engineer"), which only the normalizer's taxonomy reads."""
    counts = [s["count"] for s in got]
    assert counts == sorted(counts, reverse=True)
    for s in got:
        if s["name"] in vocab.SKILL_PHRASES:
            assert s["count"] == sum(j.mentions(s["name"]) for j in jobs), s
        assert s["count"] <= len(jobs)


# --- running an example ---


def assert_cheap(extensions: dict[str, Any] | None) -> None:
    """Every answer carries its price (README: Query cost): well under the budget."""
    assert extensions is not None
    cost = extensions["cost"]
    assert cost["requested"] * COST_SHARE <= cost["budget"], cost


@dataclass
class Example:
    path: Path
    url: str

    @property
    def text(self) -> str:
        return self.path.read_text()

    def operations(self) -> list[OperationDefinitionNode]:
        return [d for d in parse(self.text).definitions if isinstance(d, OperationDefinitionNode)]

    def given(self) -> dict[str, Any]:
        """The variables file beside it, if any."""
        file = self.path.with_suffix(".variables.json")
        given: dict[str, Any] = json.loads(file.read_text()) if file.exists() else {}
        return given

    def variables(self, operation: OperationDefinitionNode, **changes: Any) -> dict[str, Any]:
        """The given variables and `changes` that `operation` declares."""
        declared = {v.variable.name.value for v in operation.variable_definitions or ()}
        return {k: v for k, v in (self.given() | changes).items() if k in declared}

    def operation(self, name: str | None = None) -> OperationDefinitionNode:
        ops = [op for op in self.operations() if name in (None, op.name and op.name.value)]
        assert len(ops) == 1, f"{self.path.name}: name one of its operations"
        return ops[0]

    async def query(self, **changes: Any) -> dict[str, Any]:
        """The file's query, with its variables file and `changes`; checks errors and cost."""
        op = self.operation()
        name = op.name.value if op.name else None
        return await self.post(self.text, self.variables(op, **changes), name)

    async def post(
        self, text: str, variables: dict[str, Any] | None = None, name: str | None = None
    ) -> dict[str, Any]:
        body = {"query": text, "variables": variables or {}, "operationName": name}
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(f"{self.url}/graphql", json=body)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        assert answer.get("errors") is None, answer["errors"]
        assert_cheap(answer["extensions"])
        data: dict[str, Any] = answer["data"]
        return data

    async def first_messages(self) -> dict[str, dict[str, Any]]:
        """Each subscription of the file, all on one websocket: its first message, by name."""
        url = self.url.replace("http://", "ws://") + "/graphql"
        transport = WebsocketsTransport(
            url=url, subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL], close_timeout=2
        )
        firsts: dict[str, dict[str, Any]] = {}
        async with Client(transport=transport) as session:
            streams = []
            for op in self.operations():  # each stays subscribed while the next starts
                assert op.operation is OperationType.SUBSCRIPTION
                assert op.name is not None
                name = op.name.value
                request = GraphQLRequest(
                    self.text, variable_values=self.variables(op), operation_name=name
                )
                streams.append(session.subscribe(request, get_execution_result=True))
                first = await asyncio.wait_for(anext(streams[-1]), 10)
                assert first.errors is None, first.errors
                assert_cheap(first.extensions)
                firsts[name] = first.data
            for stream in streams:
                await stream.aclose()
        return firsts


@pytest.fixture(scope="module")
def market(seed_market: SeedMarket) -> Generated:
    return generated(seed_market.events)


def test_the_recomputation_reproduces_the_seed_page(market: Generated) -> None:
    """Before it judges the API: the recomputation itself finds the seed page's own figures."""
    assert len(market.jobs) == OPEN_AI_TOTAL
    for spec in (SWE, PM):
        mine = market.where(spec.role)
        assert len(mine) == spec.open
        assert Counter(j.metro for j in mine if j.metro) == spec.metros
        assert salary_of(mine)["n"] == spec.salary.n
        assert salary_of(mine)["average"] == pytest.approx(spec.salary.mean_max)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
async def test_example(path: Path, seed_market: SeedMarket, market: Generated) -> None:
    example = Example(path, seed_market.api.url)
    assert example.text.startswith("#"), "open with a comment: what it answers, its variables"
    assert all(op.name for op in example.operations()), "name every operation"
    used = {name for op in example.operations() for name in example.variables(op)}
    assert set(example.given()) == used, "a variable in the JSON file that no operation declares"
    assert path.stem in CHECKS, f"add the figures examples/{path.name} must answer to CHECKS"
    await CHECKS[path.stem](example, market)


def test_the_readme_shows_three_examples_as_they_are() -> None:
    """A README block with the same operations as an example file is that file, reformatted."""
    readme = (EXAMPLES.parent / "README.md").read_text()
    by_names = {names(parse(f.read_text())): f for f in FILES}
    shown = []
    for block in re.findall(r"```graphql\n(.*?)```", readme, flags=re.DOTALL):
        document = parse(block)
        if file := by_names.get(names(document)):
            assert print_ast(document) == print_ast(parse(file.read_text())), file.name
            shown.append(file.stem)
    assert len(shown) >= 3, shown


def names(document: DocumentNode) -> frozenset[str]:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return frozenset(op.name.value for op in ops if op.name)


# --- what each example must answer ---


async def metro_page(example: Example, market: Generated) -> None:
    metro = (await example.query())["metro"]
    name, jobs = metro["name"], market.jobs
    here = [j for j in jobs if j.metro == name]
    assert metro["openPositions"] == len(here) > 0
    assert metro["shareOfMarketPct"] == pytest.approx(len(here) / len(jobs) * 100)
    assert metro["remotePct"] == 0  # remote-only jobs are in no metro
    assert_salary(metro["salary"], here)
    roles = metro["roles"]
    per_role = Counter(j.role for j in here)
    by_count = sorted(per_role.items(), key=lambda kv: (-kv[1], kv[0]))
    assert [(r["slug"], r["openPositions"]) for r in roles] == by_count
    seed = {r["slug"]: r["openPositions"] for r in roles if r["slug"] in (SWE.role, PM.role)}
    assert seed == {SWE.role: SWE.metros[name], PM.role: PM.metros[name]}
    for role in roles:
        assert_salary(role["salary"], [j for j in here if j.role == role["slug"]])
    assert sum(r["openPositions"] for r in roles) == metro["openPositions"]
    assert sum(r["salary"]["n"] for r in roles) == metro["salary"]["n"]
    assert_top_skills(metro["topSkills"], here)
    assert metro["topCompanies"] == ranked(Counter(j.company for j in here), 5)
    paid: dict[str, list[int]] = {}
    for j in here:
        if j.pay:
            paid.setdefault(j.company, []).append(j.pay[1])
    means = [(c, len(p), statistics.fmean(p)) for c, p in paid.items() if len(p) >= 3]
    best = sorted(means, key=lambda c: (-c[2], c[0]))[:5]
    got = [(c["name"], c["n"], c["average"]) for c in metro["topPayingCompanies"]]
    assert got == [(c, n, pytest.approx(mean)) for c, n, mean in best]


async def level_page(example: Example, market: Generated) -> None:
    answer = await example.query()
    level = example.variables(example.operation())["level"]
    assert set(answer) == {"swe", "pm", "mle", "ds"}
    for role in answer.values():
        mine = market.where(role["slug"], {"seniorities": [level]})
        assert role["openPositions"] == len(mine)
        assert role["shareOfMarketPct"] == pytest.approx(len(mine) / len(market.jobs) * 100)
        assert_salary(role["salary"], mine)
        assert_top_skills(role["topSkills"], mine)
        assert role["topMetros"] == ranked(Counter(j.metro for j in mine if j.metro), 3)
    for alias, spec in (("swe", SWE), ("pm", PM)):  # the seed page's experience mix
        assert answer[alias]["openPositions"] == spec.seniority[Seniority[level]]


async def company_page(example: Example, market: Generated) -> None:
    company = (await example.query())["company"]
    name, jobs = company["name"], market.jobs
    theirs = [j for j in jobs if j.company == name]
    assert company["openPositions"] == len(theirs) > 0
    assert company["shareOfMarketPct"] == pytest.approx(len(theirs) / len(jobs) * 100)
    remote = sum(j.metro is None for j in theirs)
    assert company["remotePct"] == pytest.approx(remote / len(theirs) * 100)
    assert_salary(company["salary"], theirs)
    roles = company["roles"]
    per_role = {r["slug"]: r["openPositions"] for r in roles}
    assert per_role == Counter(j.role for j in theirs)
    for spec in (SWE, PM):  # the seed page's employers, under each name they publish
        published = [n for c, n in spec.companies.items() if COMPANY.get(c, c) == name]
        if published:
            assert per_role[spec.role] == sum(published)
    for role in roles:
        assert_salary(role["salary"], [j for j in theirs if j.role == role["slug"]])
    assert sum(r["openPositions"] for r in roles) == company["openPositions"]
    assert sum(r["salary"]["n"] for r in roles) == company["salary"]["n"]
    assert_top_skills(company["topSkills"], theirs)
    assert company["topMetros"] == ranked(Counter(j.metro for j in theirs if j.metro), 5)


async def skill_pay(example: Example, market: Generated) -> None:
    skill = (await example.query())["skill"]
    name, jobs = skill["name"], market.jobs
    demand = Counter(j.role for j in jobs if j.mentions(name))
    assert skill["openPositions"] == demand.total() > 0
    for spec in (SWE, PM):  # the seed page's skill counts
        assert demand[spec.role] == spec.skills.get(name, 0)
    whole = await example.post("query Roles { roles { slug salary(basis: MAX) { n } } }")
    role_n = {r["slug"]: r["salary"]["n"] for r in whole["roles"]}  # in taxonomy order
    order = sorted(demand, key=lambda role: (-demand[role], list(role_n).index(role)))
    assert [r["role"]["slug"] for r in skill["roles"]] == order
    for entry in skill["roles"]:
        role, pay = entry["role"]["slug"], entry["pay"]
        with_skill = [j for j in market.where(role) if j.mentions(name)]
        without = [j for j in market.where(role) if not j.mentions(name)]
        assert_salary(pay["withSkill"], with_skill)
        assert_salary(pay["withoutSkill"], without)
        assert pay["withSkill"]["n"] + pay["withoutSkill"]["n"] == role_n[role]
        premium = salary_of(with_skill)["average"] / salary_of(without)["average"] - 1
        assert pay["premiumPct"] == pytest.approx(premium * 100)


async def job_board(example: Example, market: Generated) -> None:
    given = example.variables(example.operation())
    wanted = [j for j in market.where(given["role"], given["filter"]) if j.pay]
    pages, after = [], None
    while True:  # the next page: this page's endCursor as `after`, while hasNextPage
        page = (await example.query(after=after))["postings"]
        assert page["totalCount"] == len(wanted)
        pages.append(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(pages) > 1, "the filter should match more jobs than a page holds"
    assert all(len(p["edges"]) <= given["first"] for p in pages)  # a page may stop short
    nodes = [e["node"] for p in pages for e in p["edges"]]
    by_id = {j.id: j for j in wanted}
    assert sorted(n["id"] for n in nodes) == sorted(by_id)  # each job once, none missing
    tops = [n["salary"]["annualMaxUsd"] for n in nodes]
    assert tops == sorted((j.pay[1] for j in wanted if j.pay), reverse=True)
    for node in nodes:
        job = by_id[node["id"]]
        assert (node["url"], node["company"], node["metro"]) == (job.url, job.company, job.metro)
        assert node["seniority"] == job.level
        assert node["salary"]["annualMinUsd"] == (job.pay or (None,))[0]


async def live_dashboard(example: Example, market: Generated) -> None:
    firsts = await example.first_messages()
    role = firsts["DashboardRole"]["roleUpdated"]
    where = example.variables(example.operation("DashboardRole"))["filter"]
    mine = market.where(role["slug"], where)
    assert role["openPositions"] == len(mine) > 0
    if spec := {SWE.role: SWE, PM.role: PM}.get(role["slug"]):  # the seed page's metros
        metros = {slug(m) for m in where.get("metros", ())}
        assert role["openPositions"] == sum(n for m, n in spec.metros.items() if slug(m) in metros)
    assert_salary(role["salary"], mine)
    assert_top_skills(role["topSkills"], mine)
    whole = firsts["DashboardMarket"]["marketUpdated"]
    assert whole["openPositions"] == len(market.jobs) == OPEN_AI_TOTAL
    per_role = {r["slug"]: r["openPositions"] for r in whole["roles"]}
    assert per_role == Counter(j.role for j in market.jobs)
    assert sum(per_role.values()) == whole["openPositions"]
    # The stream clock: the latest event of the partition whose latest event is oldest.
    clock = datetime.fromisoformat(whole["asOf"])
    assert market.newest - timedelta(hours=1) < clock <= market.newest


async def compare_filtered(example: Example, market: Generated) -> None:
    cmp = (await example.query())["compareRoles"]
    where = example.variables(example.operation())["filter"]
    average = {}
    for side in ("a", "b"):
        role = cmp[side]
        mine = market.where(role["slug"], where)
        assert role["openPositions"] == len(mine) > 0
        assert_salary(role["salary"], mine)
        assert_top_skills(role["topSkills"], mine)
        average[side] = salary_of(mine)["average"]
    assert cmp["premiumPct"] == pytest.approx((average["a"] / average["b"] - 1) * 100)
    higher = "a" if average["a"] > average["b"] else "b"
    assert cmp["higherPaid"]["slug"] == cmp[higher]["slug"]
    top_b = {s["name"] for s in cmp["b"]["topSkills"]}
    assert cmp["sharedSkills"] == [s["name"] for s in cmp["a"]["topSkills"] if s["name"] in top_b]


CHECKS: dict[str, Callable[[Example, Generated], Awaitable[None]]] = {
    "metro-page": metro_page,
    "level-page": level_page,
    "company-page": company_page,
    "skill-pay": skill_pay,
    "job-board": job_board,
    "live-dashboard": live_dashboard,
    "compare-filtered": compare_filtered,
}
