"""`Role.weeklyTrend` through `schema.execute`, over a fake weekly-history read model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import strawberry

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_model import WeeklyDoc, WeeklyHistory
from rolepulse.settings import ApiSettings

SLUGS = ("llm-engineer", "nlp-engineer", "prompt-engineer")
TAXONOMY = {slug: RoleInfo(slug, slug.title(), "focus", ()) for slug in SLUGS}


def snap(role: str, week: str, open_: int, median_mid: float | None) -> WeeklyDoc:
    def figures(median: float | None) -> dict[str, float | None]:
        return {"p25": None, "median": median, "p75": None, "average": median}

    return {
        "_id": f"{role}|{week}",
        "role": role,
        "week": week,
        "open": open_,
        "n": open_,
        "salary": {
            "mid": figures(median_mid),
            "max": figures(None if median_mid is None else median_mid + 50_000),
            "min": figures(None if median_mid is None else median_mid - 50_000),
        },
        "work_mode": {"remote": 1, "hybrid": 0, "onsite": open_ - 1, "unknown": 0},
        "seniority": {"entry": 1, "mid": 1, "senior": open_ - 2, "lead": 0, "executive": 0},
    }


SNAPSHOTS = [
    snap("llm-engineer", "2026-W42", 4, 100_000.0),
    snap("llm-engineer", "2026-W44", 5, 110_000.0),
    snap("nlp-engineer", "2026-W43", 10, 200_000.0),
    snap("nlp-engineer", "2026-W45", 8, 190_000.0),
]


class FakeReadModel:
    """Answers like MongoReadModel: newest first, `per_role` at most, latest week of any role."""

    def __init__(self, snapshots: Sequence[WeeklyDoc]) -> None:
        self.snapshots = list(snapshots)
        self.week_reads: list[tuple[list[str], int]] = []

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {}

    async def market(self) -> MarketAggregateDoc:
        return {}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        self.week_reads.append((list(slugs), per_role))
        newest = sorted(self.snapshots, key=lambda d: d["week"], reverse=True)
        by_role = {s: [d for d in newest if d["role"] == s][:per_role] for s in slugs}
        latest = newest[0]["week"] if newest else None
        return WeeklyHistory(latest, {s: docs for s, docs in by_role.items() if docs})

    async def ping(self) -> bool:
        return True


@pytest.fixture
def schema() -> strawberry.Schema:
    return build_schema(ApiSettings())


async def run(schema: strawberry.Schema, store: FakeReadModel, query: str) -> dict[str, Any]:
    result = await schema.execute(query, context_value=build_context(store, TAXONOMY))
    assert result.errors is None
    assert result.data is not None
    return result.data


async def test_weekly_trend_points(schema: strawberry.Schema) -> None:
    query = """{ role(slug: "llm-engineer") { weeklyTrend {
        week weekStart carriedForward openPositions openPositionsChange medianChangePct remotePct
        salary { n p25 median p75 average basis } experienceMix { entryPct midPct seniorPct }
    } } }"""
    points = (await run(schema, FakeReadModel(SNAPSHOTS), query))["role"]["weeklyTrend"]
    # Runs to 2026-W45, the latest week of ANY role, carrying llm-engineer's W44 forward.
    assert [p["week"] for p in points] == ["2026-W42", "2026-W43", "2026-W44", "2026-W45"]
    assert [p["carriedForward"] for p in points] == [False, True, False, True]
    assert [p["openPositions"] for p in points] == [4, 4, 5, 5]
    assert [p["openPositionsChange"] for p in points] == [None, 0, 1, 0]
    assert points[0]["weekStart"] == "2026-10-12"
    assert points[2]["medianChangePct"] == pytest.approx(10.0)
    assert points[0]["medianChangePct"] is None
    assert points[2]["remotePct"] == pytest.approx(20.0)
    assert points[2]["salary"] == {
        "n": 5, "p25": None, "median": 110_000.0, "p75": None, "average": 110_000.0,
        "basis": "MIDPOINT",
    }  # fmt: skip
    assert points[2]["experienceMix"] == {"entryPct": 20.0, "midPct": 20.0, "seniorPct": 60.0}


async def test_window_and_one_read_for_all_roles(schema: strawberry.Schema) -> None:
    store = FakeReadModel(SNAPSHOTS)
    query = """{ roles { slug
        recent: weeklyTrend(weeks: 2) { week openPositions }
        longer: weeklyTrend(weeks: 3) { week }
    } }"""
    roles = {r["slug"]: r for r in (await run(schema, store, query))["roles"]}
    assert roles["nlp-engineer"]["recent"] == [
        {"week": "2026-W44", "openPositions": 10},
        {"week": "2026-W45", "openPositions": 8},
    ]
    assert [p["week"] for p in roles["llm-engineer"]["longer"]] == [
        "2026-W43", "2026-W44", "2026-W45",
    ]  # fmt: skip
    assert roles["prompt-engineer"]["recent"] == []  # no snapshot yet: no points, not zeros
    # Every role and both windows in a single read, wide enough for the widest window + 1.
    assert store.week_reads == [(list(SLUGS), 4)]


async def test_basis_follows_the_comparison_unless_given(schema: strawberry.Schema) -> None:
    query = """{ compareRoles(a: "llm-engineer", b: "nlp-engineer", salaryBasis: MAX) {
        a { weeklyTrend(weeks: 1) { salary { basis median } }
            mins: weeklyTrend(weeks: 1, salaryBasis: MIN) { salary { basis median } } }
    } }"""
    a = (await run(schema, FakeReadModel(SNAPSHOTS), query))["compareRoles"]["a"]
    assert a["weeklyTrend"] == [{"salary": {"basis": "MAX", "median": 160_000.0}}]
    assert a["mins"] == [{"salary": {"basis": "MIN", "median": 60_000.0}}]


async def test_empty_history(schema: strawberry.Schema) -> None:
    query = '{ role(slug: "llm-engineer") { weeklyTrend { week } } }'
    assert (await run(schema, FakeReadModel([]), query)) == {"role": {"weeklyTrend": []}}


@pytest.mark.parametrize("weeks", [0, 105, -2])
async def test_weeks_out_of_range(schema: strawberry.Schema, weeks: int) -> None:
    store = FakeReadModel(SNAPSHOTS)
    query = f'{{ role(slug: "llm-engineer") {{ weeklyTrend(weeks: {weeks}) {{ week }} }} }}'
    result = await schema.execute(query, context_value=build_context(store, TAXONOMY))
    assert result.errors is not None
    (error,) = [e.formatted for e in result.errors]
    assert error["message"] == f"weeks must be between 1 and 104 (inclusive), got {weeks}"
    assert error["path"] == ["role", "weeklyTrend"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "argument": "weeks"}
    assert store.week_reads == []  # rejected before any read
