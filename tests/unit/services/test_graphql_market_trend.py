"""`Market.weeklyTrend` and `Market.openPositionsChange` (services/graphql/market_trend.py)
through `schema.execute`, over a fake store of weekly counter documents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry

from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.rollups import Counters
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.graphql.context import build_context
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

SLUGS = ("llm-engineer", "nlp-engineer")
TAXONOMY = {slug: RoleInfo(slug, slug.title(), "focus", ()) for slug in SLUGS}


def weekly(role: str, week: str, open_: int, maxima: Sequence[int]) -> dict[str, Any]:
    """A weekly document as the consumer stores it: the role's counters at the week's end."""
    hist: dict[str, int] = {}
    for m in maxima:
        hist[str(m)] = hist.get(str(m), 0) + 1
    return {
        "_id": f"{role}|{week}",
        "role": role,
        "week": week,
        "open": open_,
        "work_mode": {"remote": 1, "onsite": open_ - 1},
        "seniority": {"senior": open_},
        "salary": {"n": len(maxima), "sum_max": sum(maxima), "hist_max": hist},
    }


DOCS = [
    weekly("llm-engineer", "2026-W42", 4, [100_000, 200_000]),
    weekly("llm-engineer", "2026-W44", 6, [100_000, 200_000, 300_000]),
    weekly("nlp-engineer", "2026-W43", 10, [400_000]),
    weekly("nlp-engineer", "2026-W45", 8, []),
]


class FakeStore:
    """Answers `week_counters` like MongoReadModel: newest first, `per_role` at most."""

    def __init__(self, docs: Sequence[dict[str, Any]], clock: datetime | None) -> None:
        self.docs = list(docs)
        self.clock = clock
        self.reads: list[tuple[int, tuple[str, ...], str | None]] = []

    async def week_counters(
        self, per_role: int, fields: Sequence[str], until: str | None = None
    ) -> WeeklyHistory:
        self.reads.append((per_role, tuple(fields), until))
        newest = sorted(self.docs, key=lambda d: d["week"], reverse=True)
        by_role: dict[str, list[dict[str, Any]]] = {}
        for d in newest:
            if until is None or d["week"] <= until:
                by_role.setdefault(d["role"], []).append(d)
        latest = newest[0]["week"] if newest else None
        return WeeklyHistory(latest, {r: docs[:per_role] for r, docs in by_role.items()})

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {}

    async def market(self) -> MarketAggregateDoc:
        return {}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True

    async def role_totals(self, slugs: Sequence[str]) -> dict[str, Counters]:
        return {}

    async def role_cells(self, slug: str, metros: Sequence[str | None] | None) -> list[Counters]:
        return []

    async def role_skill(self, slug: str, skill: str) -> Counters:
        return {}

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        return []

    async def stream_clock(self) -> datetime | None:
        return self.clock

    async def metro_names(self) -> frozenset[str]:
        return frozenset()

    async def market_counts(
        self, companies: Sequence[str], skills: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        return {}, {}


# Thursday of 2026-W46: W45 is the newest complete week.
CLOCK = datetime(2026, 11, 12, 15, tzinfo=UTC)


@pytest.fixture
def schema() -> strawberry.Schema:
    return build_schema(ApiSettings(), TAXONOMY)


async def run(schema: strawberry.Schema, query: str, store: FakeStore) -> dict[str, Any]:
    result = await schema.execute(query, context_value=build_context(store, TAXONOMY))
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def test_the_market_trend_sums_every_roles_standing_each_week(
    schema: strawberry.Schema,
) -> None:
    store = FakeStore(DOCS, CLOCK)
    query = """{ market { weeklyTrend(weeks: 3, salaryBasis: MAX) {
        week carriedForward openPositions openPositionsChange remotePct
        salary { basis n median average } experienceMix { seniorPct } } } }"""
    points = (await run(schema, query, store))["market"]["weeklyTrend"]
    assert [(p["week"], p["openPositions"], p["carriedForward"]) for p in points] == [
        ("2026-W43", 4 + 10, False),  # llm's W42 carried in, nlp's W43
        ("2026-W44", 6 + 10, False),
        ("2026-W45", 6 + 8, False),
    ]
    assert [p["openPositionsChange"] for p in points] == [None, 2, -2]
    # The market's median over the summed histograms, not a mean of the roles' medians.
    assert points[0]["salary"] == {
        "basis": "MAX", "n": 3, "median": 200_000.0, "average": 700_000 / 3,
    }  # fmt: skip
    assert points[1]["salary"]["median"] == 250_000.0
    assert points[2]["remotePct"] == pytest.approx(2 / 14 * 100)
    assert points[2]["experienceMix"] == {"seniorPct": 100.0}
    # One read: a document more per role than the window, only the basis's histogram.
    assert store.reads == [
        (4, ("open", "work_mode", "seniority", "salary.n", "salary.sum_max", "salary.hist_max"),
         None)
    ]  # fmt: skip


async def test_weeks_without_any_change_are_carried_forward(schema: strawberry.Schema) -> None:
    docs = [*DOCS, weekly("llm-engineer", "2026-W47", 1, [])]
    query = "{ market { weeklyTrend(weeks: 3) { week carriedForward openPositions } } }"
    points = (await run(schema, query, FakeStore(docs, CLOCK)))["market"]["weeklyTrend"]
    assert points == [
        {"week": "2026-W45", "carriedForward": False, "openPositions": 14},
        {"week": "2026-W46", "carriedForward": True, "openPositions": 14},
        {"week": "2026-W47", "carriedForward": False, "openPositions": 9},
    ]


async def test_open_positions_change_over_the_two_newest_complete_weeks(
    schema: strawberry.Schema,
) -> None:
    # An in-progress week (W46) must not count, however it looks.
    store = FakeStore([*DOCS, weekly("llm-engineer", "2026-W46", 50, [])], CLOCK)
    query = """{ market { openPositionsChange {
        week previousWeek openPositions previousOpenPositions change changePct } } }"""
    change = (await run(schema, query, store))["market"]["openPositionsChange"]
    assert change == {
        "week": "2026-W45",
        "previousWeek": "2026-W44",
        "openPositions": 14,
        "previousOpenPositions": 16,
        "change": -2,
        "changePct": pytest.approx(-12.5),
    }
    assert store.reads == [(2, ("open",), "2026-W45")]


@pytest.mark.parametrize(
    ("docs", "clock"),
    [
        (DOCS, None),  # no event applied yet: no week is complete
        ([weekly("nlp-engineer", "2026-W45", 8, [])], CLOCK),  # nothing before W45
        (DOCS, datetime(2026, 10, 19, tzinfo=UTC)),  # W42 complete, no data before it
    ],
)
async def test_no_change_without_a_previous_week(
    schema: strawberry.Schema, docs: list[dict[str, Any]], clock: datetime | None
) -> None:
    query = "{ market { openPositionsChange { change } } }"
    data = await run(schema, query, FakeStore(docs, clock))
    assert data == {"market": {"openPositionsChange": None}}


async def test_empty_history_and_weeks_out_of_range(schema: strawberry.Schema) -> None:
    empty = await run(schema, "{ market { weeklyTrend { week } } }", FakeStore([], None))
    assert empty == {"market": {"weeklyTrend": []}}
    for weeks in (0, 105):
        result = await schema.execute(
            f"{{ market {{ weeklyTrend(weeks: {weeks}) {{ week }} }} }}",
            context_value=build_context(FakeStore(DOCS, CLOCK), TAXONOMY),
        )
        assert result.errors is not None
        assert result.errors[0].extensions == {"code": "BAD_USER_INPUT", "argument": "weeks"}
