"""The view's guards: execution timeout, a code on every refused query, JSON for strawberry's
own HTTP errors."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import graphql.validation.rules.overlapping_fields_can_be_merged as overlapping_fields
import httpx
import pytest

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

TAXONOMY = {
    slug: RoleInfo(slug, slug.title(), "focus", ()) for slug in ("llm-engineer", "slow-role")
}


class FakeReadModel:
    """Answers at once, except for `slow-role`, whose read never ends."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        if "slow-role" in slugs:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return {"llm-engineer": {"_id": "llm-engineer", "open": 3}}

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "open_ai": 12}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


@pytest.fixture
def store() -> FakeReadModel:
    return FakeReadModel()


@pytest.fixture
async def api(store: FakeReadModel) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(store, TAXONOMY, ApiSettings(execution_timeout_s=0.2))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def errors_of(api: httpx.AsyncClient, query: str, **body: Any) -> list[dict[str, Any]]:
    response = await api.post("/graphql", json={"query": query, **body})
    assert response.status_code == 200
    errors: list[dict[str, Any]] = response.json()["errors"]
    return errors


async def test_a_slow_execution_is_cancelled_with_a_timeout_error(
    api: httpx.AsyncClient, store: FakeReadModel, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.perf_counter()
    response = await api.post("/graphql", json={"query": '{ role(slug: "slow-role") { slug } }'})
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert response.json()["data"] is None
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"
    assert "0.2 s" in error["message"]
    assert elapsed < 1.5
    await asyncio.wait_for(store.cancelled.wait(), 1)  # the read itself was cancelled
    assert not [r for r in caplog.records if r.exc_info]
    fast = await api.post("/graphql", json={"query": "{ market { openPositions } }"})
    assert fast.json()["data"] == {"market": {"openPositions": 12}}


async def test_syntax_and_validation_errors_carry_codes(api: httpx.AsyncClient) -> None:
    syntax = await errors_of(api, "{ market { ")
    unknown = await errors_of(api, "{ nope }")
    variable = await errors_of(api, "query($n: Int!) { __typename }", variables={"n": "x"})
    assert [e["extensions"]["code"] for e in syntax] == ["GRAPHQL_PARSE_FAILED"]
    assert [e["extensions"]["code"] for e in unknown] == ["GRAPHQL_VALIDATION_FAILED"]
    assert [e["extensions"]["code"] for e in variable] == ["BAD_USER_INPUT"]
    assert syntax[0]["locations"] == [{"line": 1, "column": 12}]


async def test_resolver_errors_keep_their_own_code(api: httpx.AsyncClient) -> None:
    (error,) = await errors_of(api, '{ role(slug: "nope") { slug } }')
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["path"] == ["role"]


async def test_too_many_validation_errors_say_so(api: httpx.AsyncClient) -> None:
    errors = await errors_of(api, "{" + "".join(f" f{i}" for i in range(150)) + " }")
    assert len(errors) == 101
    assert {e["extensions"]["code"] for e in errors[:100]} == {"GRAPHQL_VALIDATION_FAILED"}
    assert errors[100]["extensions"]["code"] == "TOO_MANY_VALIDATION_ERRORS"
    assert "Too many validation errors" in errors[100]["message"]


async def test_validation_aborted_by_its_work_limit_gives_a_reason_within_the_token_limit(
    api: httpx.AsyncClient,
) -> None:
    # 300 copies of one field pass every other limit, but comparing them pairwise costs 300 x
    # 299 units of work: graphql-core gives up ("Validation aborted.") at the work limit.
    started = time.perf_counter()
    (error,) = await errors_of(api, "{" + " __typename" * 300 + " }")
    elapsed = time.perf_counter() - started
    assert error["extensions"]["code"] == "VALIDATION_ABORTED"
    assert "too many fields with the same response name" in error["message"]
    assert ApiSettings().max_validation_work == overlapping_fields.MAX_COMPLEXITY_BUDGET
    assert elapsed < 1.0  # ~20 ms here


async def test_a_few_repeated_fields_stay_valid(api: httpx.AsyncClient) -> None:
    response = await api.post("/graphql", json={"query": "{" + " __typename" * 150 + " }"})
    assert response.json()["data"] == {"__typename": "Query"}


@pytest.mark.parametrize(
    ("request_kwargs", "message"),
    [
        (
            {"method": "POST", "json": {"query": "{ __typename }", "operationName": "X"}},
            'Unknown operation named "X".',
        ),
        (
            {"method": "GET", "headers": {"accept": "application/json"}},
            "No GraphQL query found in the request",
        ),
    ],
)
async def test_strawberrys_own_http_errors_are_json(
    api: httpx.AsyncClient, request_kwargs: dict[str, Any], message: str
) -> None:
    response = await api.request(url="/graphql", **request_kwargs)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]
    }


async def test_client_errors_log_no_traceback(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await errors_of(api, "{ nope }")
        await errors_of(api, '{ role(slug: "nope") { slug } }')
        await api.post("/graphql", json={"query": "{ __typename }", "operationName": "X"})
        await errors_of(api, "subscription { marketUpdated { openPositions } }")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("subscription { marketUpdated { openPositions } }", None),
        ("subscription M { marketUpdated { openPositions } }", "M"),
        ("query Q { __typename } subscription M { marketUpdated { openPositions } }", "M"),
    ],
)
async def test_a_subscription_over_http_is_told_to_use_the_websocket(
    api: httpx.AsyncClient, query: str, name: str | None
) -> None:
    body: dict[str, Any] = {} if name is None else {"operationName": name}
    (error,) = await errors_of(api, query, **body)
    assert error["extensions"]["code"] == "SUBSCRIPTION_OVER_HTTP"
    assert "websocket" in error["message"]


async def test_a_query_beside_a_subscription_still_runs_over_http(api: httpx.AsyncClient) -> None:
    query = "query Q { __typename } subscription M { marketUpdated { openPositions } }"
    response = await api.post("/graphql", json={"query": query, "operationName": "Q"})
    assert response.json()["data"] == {"__typename": "Query"}
    # The word alone, in a string or a comment, does not make a subscription.
    response = await api.post("/graphql", json={"query": "{ __typename } # subscription"})
    assert response.json()["data"] == {"__typename": "Query"}
