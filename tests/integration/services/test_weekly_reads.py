"""Weekly trends read only their window (services/weekly_read.py), against a real SecantusDB.

Two years of weekly documents for four roles (one stopped a year ago, one changing every other
week, one with a single late week), their index built by the consumer's `ensure_indexes` as for
history written before it existed. Every trend query is answered over HTTP twice: through the
index and through the old read of every document (the index's marker removed); the answers are
the same, and the weekly documents the API fetched (counted from the driver's command events;
each range is an index scan examining only what it returns, `explain` says) stay within the
window: at most `weeks + 1` per role, however long the history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient, MongoClient, monitoring

from rolepulse.consumers.store import MongoBatchStore
from rolepulse.domain.history import iso_week, week_start
from rolepulse.schema.documents import ROLE_WEEKLY_INDEX, WEEK_INDEX_COMPLETE
from rolepulse.services import main as api_main
from rolepulse.services.main import build_app
from rolepulse.services.read_model import ROLE_WEEKLY
from rolepulse.settings import ApiSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

FIRST = datetime(2024, 12, 2, 9, tzinfo=UTC)  # 2024-W49
WEEKS = 104
# Role -> the week offsets (0..103) it has a document for.
HISTORY = {
    "llm-engineer": range(WEEKS),  # changes every week
    "nlp-engineer": range(52),  # stopped a year ago: its week 51 still stands
    "prompt-engineer": range(0, WEEKS, 2),  # every other week
    "data-scientist": (0, 1, 2, 100),  # a gap of two years, then one week
}
STORED = sum(len(offsets) for offsets in HISTORY.values())

ROLE_TREND = """query T($slug: String!, $weeks: Int!) { role(slug: $slug) {
  weeklyTrend(weeks: $weeks) { week openPositions carriedForward salary { n median } } } }"""
MARKET = """query M($weeks: Int!) { market {
  weeklyTrend(weeks: $weeks) { week openPositions carriedForward salary { n median } }
  openPositionsChange { week previousWeek openPositions previousOpenPositions } } }"""
COMPARE = """query C($weeks: Int!) { compareRoles(a: "llm-engineer", b: "nlp-engineer") {
  a { weeklyTrend(weeks: $weeks) { week openPositions } }
  b { weeklyTrend(weeks: $weeks) { week openPositions } } } }"""
# (query, variables, roles whose documents it reads)
REQUESTS: list[tuple[str, dict[str, Any], int]] = [
    (ROLE_TREND, {"slug": "llm-engineer", "weeks": 12}, 1),
    (ROLE_TREND, {"slug": "nlp-engineer", "weeks": 12}, 1),
    (ROLE_TREND, {"slug": "data-scientist", "weeks": 4}, 1),
    (ROLE_TREND, {"slug": "prompt-engineer", "weeks": 104}, 1),
    (MARKET, {"weeks": 12}, len(HISTORY)),
    (MARKET, {"weeks": 1}, len(HISTORY)),
    (COMPARE, {"weeks": 8}, 2),
]


def weekly_doc(role: str, offset: int) -> dict[str, Any]:
    at = FIRST + timedelta(weeks=offset)
    week = iso_week(at)
    open_ = 10 + offset % 7
    return {
        "_id": f"{role}|{week}",
        "role": role,
        "week": week,
        "week_start": datetime.combine(week_start(at), time(), UTC),
        "open": open_,
        "work_mode": {"remote": open_},
        "seniority": {"senior": open_},
        "salary": {"n": 2, "sum_mid": 300_000 + offset, "hist_mid": {"100000": 1, "200000": 1}},
    }


class WeeklyReads(monitoring.CommandListener):
    """Documents of `role_weekly` the API's client fetched (find and getMore batches)."""

    def __init__(self) -> None:
        self.documents = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") if event.command_name in ("find", "getMore") else None
        if cursor and str(cursor.get("ns", "")).endswith(f".{ROLE_WEEKLY}"):
            self.documents += len(cursor.get("firstBatch", cursor.get("nextBatch", [])))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> WeeklyReads:
    """Counts what the API process's client reads: its lifespan makes the client."""
    listener = WeeklyReads()

    def client(*args: Any, **kwargs: Any) -> Any:
        return AsyncMongoClient(*args, event_listeners=[listener], **kwargs)

    monkeypatch.setattr(api_main, "AsyncMongoClient", client)
    return listener


@pytest.fixture
async def history(mongo_settings: MongoSettings) -> None:
    """The four roles' history, written directly, then indexed as the consumer does."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_settings.uri)
    try:
        db = client[mongo_settings.database]
        docs = [weekly_doc(r, o) for r, offsets in HISTORY.items() for o in offsets]
        await db[ROLE_WEEKLY].insert_many(docs)
        await MongoBatchStore(client, mongo_settings.database).ensure_indexes()
    finally:
        await client.close()


async def post(mongo: MongoSettings, query: str, variables: Mapping[str, Any]) -> Any:
    # A fresh app per request: nothing is answered from a cache or a memo of an earlier one.
    app = build_app(ApiSettings(), mongo, load_taxonomy().roles)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            response = await http.post("/graphql", json={"query": query, "variables": variables})
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.mark.usefixtures("history")
async def test_trends_read_their_window_not_the_history(
    mongo_settings: MongoSettings, reads: WeeklyReads
) -> None:
    indexed = []
    for query, variables, roles in REQUESTS:
        before = reads.documents
        indexed.append(await post(mongo_settings, query, variables))
        fetched = reads.documents - before
        assert 0 < fetched <= roles * (variables["weeks"] + 1), (variables, fetched)
        if variables["weeks"] <= 12:
            assert fetched * 4 < STORED  # the old read fetched all of them, every time
    # A role that stopped a year ago is read as its one standing document.
    before = reads.documents
    await post(mongo_settings, ROLE_TREND, {"slug": "nlp-engineer", "weeks": 104})
    assert reads.documents - before == 52  # its whole history is inside 104 weeks
    before = reads.documents
    await post(mongo_settings, ROLE_TREND, {"slug": "nlp-engineer", "weeks": 3})
    assert reads.documents - before == 1

    # The old read, every document grouped, gives the same answers.
    sync: MongoClient[dict[str, Any]] = MongoClient(mongo_settings.uri)
    try:
        sync[mongo_settings.database][ROLE_WEEKLY_INDEX].delete_one({"_id": WEEK_INDEX_COMPLETE})
    finally:
        sync.close()
    for (query, variables, _), answer in zip(REQUESTS, indexed, strict=True):
        assert await post(mongo_settings, query, variables) == answer, variables


@pytest.mark.usefixtures("history")
def test_each_range_is_an_index_scan_of_what_it_returns(mongo_settings: MongoSettings) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_settings.uri)
    try:
        db = client[mongo_settings.database]
        docs = list(db[ROLE_WEEKLY_INDEX].find({}))
        assert WEEK_INDEX_COMPLETE in {d["_id"] for d in docs}
        index = {d["_id"]: list(d["weeks"]) for d in docs if d["_id"] != WEEK_INDEX_COMPLETE}
        assert {r: len(w) for r, w in index.items()} == {r: len(o) for r, o in HISTORY.items()}
        weeks = index["llm-engineer"]
        query = {"role": "llm-engineer", "week": {"$gte": weeks[-13], "$lte": weeks[-1]}}
        stats = db[ROLE_WEEKLY].find(query).explain()
        plan = stats["queryPlanner"]["winningPlan"]
        assert plan["inputStage"]["stage"] == "IXSCAN"
        assert plan["inputStage"]["keyPattern"] == {"role": 1, "week": 1}
        assert stats["executionStats"]["totalDocsExamined"] == 13
        assert stats["executionStats"]["nReturned"] == 13
    finally:
        client.close()
