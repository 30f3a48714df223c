"""Skills and the market trend (issue 10) through the real consumer, SecantusDB and the HTTP API,
against an independent recomputation from the events this test publishes.

Every posting is planned here: its role (by title), its skills (its description names them), its
pay, when it is first observed, re-observed and closed. The oracle works from that plan alone:
the open set at the end of each ISO week by event time, demand by counting, pay with and without
a skill by sorting lists and interpolating by hand. The stored postings are read only to check
that normalization made of each event what the plan says.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from rolepulse.services.main import build_app
from rolepulse.settings import ApiSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

Doc = dict[str, Any]
ConsumeAll = Callable[..., Awaitable[dict[int, int]]]

# slug -> (title, the skills the title itself names)
ROLES = {
    "llm-engineer": ("LLM Engineer", ("LLMs",)),
    "data-scientist": ("Data Scientist", ()),
    "ai-product-manager": ("AI Product Manager", ()),
}
SKILLS = ("Python", "AWS", "Kubernetes", "RAG", "SQL", "Docker", "Rust")
START = datetime(2026, 10, 5, tzinfo=UTC)  # Monday of 2026-W41
END = datetime(2026, 11, 4, 12, tzinfo=UTC)  # Wednesday of 2026-W45: the last event
# Weeks with data: W41..W45. At END, W44 is the newest complete week.
WEEK_ENDS = {f"2026-W{41 + i}": START + timedelta(weeks=i + 1) for i in range(5)}


@dataclass
class Planned:
    key: int
    role: str
    skills: frozenset[str]  # what normalization must find: the chosen ones + the title's
    pay: tuple[int, int] | None
    observed: list[datetime]
    closed: datetime | None = None
    events: list[tuple[datetime, Doc]] = field(default_factory=list)

    def open_at(self, at: datetime) -> bool:
        """Open at the end of everything before `at` (events exactly at `at` are later)."""
        return self.observed[0] < at and (self.closed is None or self.closed >= at)

    @property
    def mid(self) -> int | None:
        return None if self.pay is None else (self.pay[0] + self.pay[1] + 1) // 2


def plan(seed: int = 7, n: int = 150) -> list[Planned]:
    rng = random.Random(seed)
    out = []
    span = (END - START).total_seconds()
    for key in range(n):
        role = rng.choices(list(ROLES), weights=(5, 3, 2))[0]
        chosen = set(rng.sample(SKILLS[1:], rng.randint(0, 3)))
        if rng.random() < 0.55:  # Python often, so its with/without sides are both large
            chosen.add("Python")
        pay = None
        if rng.random() < 0.8:
            low = rng.randrange(60_000, 200_000, 1_000)
            pay = (low, low + rng.randrange(10_000, 150_000, 1_000))
        first = START + timedelta(seconds=rng.uniform(0, span * 0.97))
        observed = [first]
        if rng.random() < 0.3:
            observed.append(first + (END - first) * rng.random())
        closed = None
        if rng.random() < 0.25:
            closed = max(observed) + (END - max(observed)) * rng.random()
        p = Planned(key, role, frozenset(chosen | set(ROLES[role][1])), pay, observed, closed)
        p.events = [(at, _observed(p, at, chosen, i)) for i, at in enumerate(observed)]
        if closed is not None:
            p.events.append((closed, _event(p, closed, "posting.closed", "c", {})))
        out.append(p)
    # The last event pins the stream clock (one partition: its newest event time) at END.
    last = Planned(n, "data-scientist", frozenset({"SQL"}), (100_000, 120_000), [END])
    last.events = [(END, _observed(last, END, {"SQL"}, 0))]
    return [*out, last]


def _observed(p: Planned, at: datetime, chosen: set[str], i: int) -> Doc:
    names = sorted(chosen)
    body: Doc = {
        "title": ROLES[p.role][0],
        "company": "Globex",
        "location": "New York, NY",
        "description": f"Our stack: {', '.join(names)}." if names else "Join our team.",
    }
    if p.pay is not None:
        body["salary"] = {"min": p.pay[0], "max": p.pay[1], "currency": "USD", "period": "year"}
    return _event(p, at, "posting.observed", f"o{i}", body)


def _event(p: Planned, at: datetime, kind: str, tag: str, body: Doc) -> Doc:
    return {
        "version": 1,
        "event_id": f"{p.key}-{tag}",
        "event_type": kind,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "source": "greenhouse",
        "posting": {"source_id": str(p.key), **body},
    }


# ---- the oracle ---------------------------------------------------------------------------


def interpolate(values: Sequence[int], q: float) -> float | None:
    if not values:
        return None
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    return float(xs[lo]) if lo + 1 >= len(xs) else xs[lo] + (h - lo) * (xs[lo + 1] - xs[lo])


def pay_side(postings: Iterable[Planned]) -> Doc:
    mids = [p.mid for p in postings if p.mid is not None]
    return {
        "n": len(mids),
        "median": interpolate(mids, 0.5),
        "average": pytest.approx(sum(mids) / len(mids)) if mids else None,
        "lowConfidence": len(mids) < 10,
    }


def premium(a: float | None, b: float | None) -> Any:
    return None if a is None or b is None else pytest.approx((a / b - 1) * 100)


def expected_skill(skill: str, open_now: Sequence[Planned]) -> Doc:
    mentioning = [p for p in open_now if skill in p.skills]
    roles = []
    order = list(load_taxonomy().roles)
    per_role = Counter(p.role for p in mentioning)
    for role, count in sorted(per_role.items(), key=lambda kv: (-kv[1], order.index(kv[0]))):
        of_role = [p for p in open_now if p.role == role]
        with_, without = (
            pay_side(p for p in of_role if skill in p.skills),
            pay_side(p for p in of_role if skill not in p.skills),
        )
        mids_with = [p.mid for p in of_role if skill in p.skills and p.mid is not None]
        mids_without = [p.mid for p in of_role if skill not in p.skills and p.mid is not None]
        roles.append(
            {
                "role": {"slug": role},
                "openPositions": count,
                "demandSharePct": pytest.approx(count / len(of_role) * 100),
                "pay": {
                    "withSkill": with_,
                    "withoutSkill": without,
                    "premiumPct": premium(
                        sum(mids_with) / len(mids_with) if mids_with else None,
                        sum(mids_without) / len(mids_without) if mids_without else None,
                    ),
                    "medianPremiumPct": premium(with_["median"], without["median"]),
                    "lowConfidence": min(with_["n"], without["n"]) < 10,
                },
            }
        )
    return {
        "name": skill,
        "openPositions": len(mentioning),
        "shareOfMarketPct": pytest.approx(len(mentioning) / len(open_now) * 100),
        "roles": roles,
    }


def expected_trend(postings: Sequence[Planned]) -> list[Doc]:
    points: list[Doc] = []
    for week, end in WEEK_ENDS.items():
        open_then = [p for p in postings if p.open_at(end)]
        # A week changes the market when a posting opens or closes in it (a re-observation of
        # an unchanged posting changes nothing, so no role writes a weekly document for it).
        changed = any(
            week_of(at) == week for p in postings for at in (p.observed[0], p.closed) if at
        )
        previous = points[-1]["openPositions"] if points else None
        mids = [p.mid for p in open_then if p.mid is not None]
        points.append(
            {
                "week": week,
                "carriedForward": not changed,
                "openPositions": len(open_then),
                "openPositionsChange": None if previous is None else len(open_then) - previous,
                "salary": {
                    "n": len(mids),
                    "median": interpolate(mids, 0.5),
                    "average": pytest.approx(sum(mids) / len(mids)) if mids else None,
                },
            }
        )
    return points


def week_of(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


# ---- the system under test ----------------------------------------------------------------

SKILL_QUERY = """query S($name: String!) { skill(name: $name) {
  name openPositions shareOfMarketPct
  roles { role { slug } openPositions demandSharePct
    pay { withSkill { n median average lowConfidence }
          withoutSkill { n median average lowConfidence }
          premiumPct medianPremiumPct lowConfidence } } } }"""
SKILLS_PAGE = """query P($first: Int!, $after: String, $role: String) {
  skills(first: $first, after: $after, role: $role) {
    totalCount pageInfo { hasNextPage endCursor } edges { openPositions node { name } } } }"""
MARKET = """{ market { openPositions
  weeklyTrend(weeks: 6) { week carriedForward openPositions openPositionsChange
                          salary { n median average } }
  openPositionsChange { week previousWeek openPositions previousOpenPositions change changePct }
} }"""


class Api:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def post(self, query: str, variables: Mapping[str, Any] | None = None) -> Doc:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        body: Doc = response.json()
        return body

    async def data(self, query: str, variables: Mapping[str, Any] | None = None) -> Doc:
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        data: Doc = body["data"]
        return data

    async def error(self, query: str, variables: Mapping[str, Any] | None = None) -> Doc:
        body = await self.post(query, variables)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        return dict(error["extensions"]) | {"message": error["message"]}


@pytest.fixture
async def market(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, consume_all: ConsumeAll
) -> list[Planned]:
    """The planned market consumed from one partition (the clock is then END), in batches of
    40 (many batches, several per week); checked against what normalization stored."""
    postings = plan()
    events = sorted((e for p in postings for e in p.events), key=lambda e: e[0])
    lines = [json.dumps(body).encode() for _, body in events]
    one_partition = kafka_settings.model_copy(update={"partitions": 1})
    await consume_all(one_partition, mongo_settings, lines, max_batch=40)
    client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo_settings.uri)
    try:
        stored = {d["_id"]: d async for d in client[mongo_settings.database].postings.find({})}
    finally:
        await client.close()
    for p in postings:
        doc = stored[f"greenhouse:{p.key}"]
        assert (doc["role"], frozenset(doc["skills"])) == (p.role, p.skills), p
    return postings


@pytest.fixture
async def api(mongo_settings: MongoSettings) -> Any:
    app = build_app(ApiSettings(), mongo_settings, load_taxonomy().roles)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield Api(http)


async def test_skill_demand_and_pay_with_and_without_it(market: list[Planned], api: Api) -> None:
    open_now = [p for p in market if p.open_at(END + timedelta(seconds=1))]
    for skill in (*SKILLS, "LLMs"):
        got = (await api.data(SKILL_QUERY, {"name": skill.lower()}))["skill"]
        assert got == expected_skill(skill, open_now), skill
    python = expected_skill("Python", open_now)
    # The case the issue is about: both sides of the biggest role have real samples.
    assert python["roles"][0]["pay"]["withSkill"]["n"] >= 10
    assert python["roles"][0]["pay"]["withoutSkill"]["n"] >= 10


async def test_skills_ranked_page_by_page(market: list[Planned], api: Api) -> None:
    open_now = [p for p in market if p.open_at(END + timedelta(seconds=1))]
    for role in (None, "llm-engineer"):
        scope = [p for p in open_now if role is None or p.role == role]
        counts = Counter(s for p in scope for s in p.skills)
        want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        got: list[tuple[str, int]] = []
        after = None
        while True:
            page = (await api.data(SKILLS_PAGE, {"first": 3, "after": after, "role": role}))[
                "skills"
            ]
            got += [(e["node"]["name"], e["openPositions"]) for e in page["edges"]]
            assert page["totalCount"] == len(want)
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert got == want, role


async def test_market_trend_and_week_over_week_change(market: list[Planned], api: Api) -> None:
    data = (await api.data(MARKET))["market"]
    trend = expected_trend(market)
    assert data["weeklyTrend"] == trend
    # The in-progress week ends where the market stands now.
    assert data["weeklyTrend"][-1]["openPositions"] == data["openPositions"]
    w44, w43 = trend[3], trend[2]
    assert data["openPositionsChange"] == {
        "week": "2026-W44",
        "previousWeek": "2026-W43",
        "openPositions": w44["openPositions"],
        "previousOpenPositions": w43["openPositions"],
        "change": w44["openPositions"] - w43["openPositions"],
        "changePct": pytest.approx((w44["openPositions"] / w43["openPositions"] - 1) * 100),
    }


async def test_errors(market: list[Planned], api: Api) -> None:
    unknown = await api.error(SKILL_QUERY, {"name": "Kubernets"})
    assert unknown["argument"] == "name"
    assert unknown["validNames"][0] == "Kubernetes"
    bad_cursor = await api.error(SKILLS_PAGE, {"first": 3, "after": "bm90IGEgY3Vyc29y"})
    assert bad_cursor["argument"] == "after"
    for first in (0, 101):
        assert (await api.error(SKILLS_PAGE, {"first": first}))["argument"] == "first"
    unknown_role = await api.error(SKILLS_PAGE, {"first": 3, "role": "nope"})
    assert unknown_role["slug"] == "nope"
    for weeks in (0, 105):
        query = f"{{ market {{ weeklyTrend(weeks: {weeks}) {{ week }} }} }}"
        assert (await api.error(query))["argument"] == "weeks"
