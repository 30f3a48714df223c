"""`Role.weeklyTrend` over HTTP, reading `role_weekly` from a real SecantusDB.

The first test writes snapshots shaped by `rolepulse.domain.history` directly; the second lets
the real consumer write them from events spanning three ISO weeks.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from rolepulse.domain.history import iso_week, week_start
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.main import build_app
from rolepulse.services.read_model import ROLE_WEEKLY
from rolepulse.settings import ApiSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

TREND = """query Trend($slug: String!, $weeks: Int!) {
  role(slug: $slug) { weeklyTrend(weeks: $weeks, salaryBasis: MAX) {
    week weekStart carriedForward openPositions openPositionsChange medianChangePct remotePct
    salary { n median basis } experienceMix { seniorPct }
  } }
}"""


def role_doc(open_: int, maxima: Sequence[int]) -> dict[str, Any]:
    """A role aggregate with `open_` onsite senior postings, disclosed tops `maxima`."""
    hist: dict[str, int] = {}
    for value in maxima:
        hist[str(value)] = hist.get(str(value), 0) + 1
    return {
        "open": open_,
        "work_mode": {"onsite": open_},
        "seniority": {"senior": open_},
        "salary": {
            "n": len(maxima),
            "sum_max": sum(maxima),
            "sum_min": sum(maxima) // 2,
            "sum_mid": sum(maxima) * 3 // 4,
            "hist_max": hist,
        },
    }


def weekly_doc(role: str, at: datetime, aggregate: Mapping[str, Any]) -> dict[str, Any]:
    """A weekly document exactly as consumers.store writes it: the role's counters + keys."""
    week = iso_week(at)
    return dict(aggregate) | {
        "_id": f"{role}|{week}",
        "role": role,
        "week": week,
        "week_start": datetime.combine(week_start(at), time(), UTC),
    }


async def insert_weekly(mongo: MongoSettings, docs: list[dict[str, Any]]) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri)
    try:
        await client[mongo.database][ROLE_WEEKLY].insert_many(docs)
    finally:
        await client.close()


async def post(
    mongo: MongoSettings, roles: Mapping[str, RoleInfo], query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    app = build_app(ApiSettings(), mongo, roles)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    return body


async def test_trend_from_stored_snapshots(mongo_settings: MongoSettings) -> None:
    llm = "llm-engineer"
    # 30 weekly snapshots (2026-W01..W30) so the read must pick the newest few, then a gap.
    first = datetime(2026, 1, 1, tzinfo=UTC)
    docs = [
        weekly_doc(llm, first + timedelta(weeks=i), role_doc(i + 1, [100_000])) for i in range(30)
    ]
    w32 = datetime(2026, 8, 5, 9, tzinfo=UTC)
    docs.append(weekly_doc(llm, w32, role_doc(40, [100_000, 300_000])))
    # Another role's later snapshot moves the end of every trend to 2026-W33.
    docs.append(weekly_doc("nlp-engineer", datetime(2026, 8, 13, tzinfo=UTC), role_doc(2, [])))
    await insert_weekly(mongo_settings, docs)

    roles = load_taxonomy().roles
    body = await post(mongo_settings, roles, TREND, {"slug": llm, "weeks": 4})
    points = body["data"]["role"]["weeklyTrend"]
    assert [p["week"] for p in points] == ["2026-W30", "2026-W31", "2026-W32", "2026-W33"]
    assert [p["carriedForward"] for p in points] == [False, True, False, True]
    assert [p["openPositions"] for p in points] == [30, 30, 40, 40]
    assert [p["openPositionsChange"] for p in points] == [None, 0, 10, 0]
    assert points[0]["weekStart"] == "2026-07-20"
    assert points[2]["salary"] == {"n": 2, "median": 200_000.0, "basis": "MAX"}
    assert points[2]["medianChangePct"] == pytest.approx(100.0)
    assert points[2]["remotePct"] == 0.0
    assert points[2]["experienceMix"] == {"seniorPct": 100.0}


def event(eid: str, sid: str, at: str, title: str = "Senior LLM Engineer") -> bytes:
    return json.dumps(
        {
            "version": 1,
            "event_id": eid,
            "event_type": "posting.observed",
            "occurred_at": at,
            "source": "greenhouse",
            "posting": {
                "source_id": sid,
                "title": title,
                "company": "Google LLC",
                "location": "New York, NY",
                "description": "Build RAG systems in Python on AWS.",
                "salary": {"min": 150000, "max": 210000, "currency": "USD", "period": "year"},
            },
        }
    ).encode()


def closed(eid: str, sid: str, at: str) -> bytes:
    body = {
        "version": 1,
        "event_id": eid,
        "event_type": "posting.closed",
        "occurred_at": at,
        "source": "greenhouse",
        "posting": {"source_id": sid},
    }
    return json.dumps(body).encode()


PM = "AI Product Manager"
WEEK_44, WEEK_45, WEEK_46 = "2026-10-27T10:00:00Z", "2026-11-03T10:00:00Z", "2026-11-10T10:00:00Z"
WEEKS = [
    # 2026-W44: three LLM engineers and one PM open.
    [event("a1", "1", WEEK_44), event("a2", "2", WEEK_44), event("a3", "3", WEEK_44),
     event("p1", "p1", WEEK_44, PM)],
    # 2026-W45: two more LLM openings, one closed; the PM role does not change.
    [event("b4", "4", WEEK_45), event("b5", "5", WEEK_45), closed("b1", "1", WEEK_45)],
    # 2026-W46: two LLM postings close, a second PM opens.
    [closed("c2", "2", WEEK_46), closed("c3", "3", WEEK_46), event("p2", "p2", WEEK_46, PM)],
]  # fmt: skip


async def test_consumer_history_reaches_the_api(
    kafka_settings: KafkaSettings,
    mongo_settings: MongoSettings,
    consume_all: Callable[..., Awaitable[dict[int, int]]],
) -> None:
    # All three weeks in ONE batch (one partition, a batch larger than the stream): the consumer
    # splits a batch at week boundaries of stream time, so each week still gets its snapshot.
    one_partition = kafka_settings.model_copy(update={"partitions": 1})
    lines = [line for week in WEEKS for line in week]
    await consume_all(one_partition, mongo_settings, lines, max_batch=2000)
    query = """{
      llm: role(slug: "llm-engineer") { weeklyTrend { week openPositions carriedForward } }
      pm: role(slug: "ai-product-manager") { weeklyTrend { week openPositions carriedForward } }
    }"""
    data = (await post(mongo_settings, load_taxonomy().roles, query, {}))["data"]
    assert data["llm"]["weeklyTrend"] == [
        {"week": "2026-W44", "openPositions": 3, "carriedForward": False},
        {"week": "2026-W45", "openPositions": 4, "carriedForward": False},
        {"week": "2026-W46", "openPositions": 2, "carriedForward": False},
    ]
    assert data["pm"]["weeklyTrend"] == [
        {"week": "2026-W44", "openPositions": 1, "carriedForward": False},
        {"week": "2026-W45", "openPositions": 1, "carriedForward": True},
        {"week": "2026-W46", "openPositions": 2, "carriedForward": False},
    ]
