"""Per-client rate limiting by cost (services/ratelimit.py): the buckets, identities, and HTTP."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.data_version import DataVersion
from rolepulse.services.ratelimit import (
    Admission,
    ClientIdentity,
    RateLimiter,
    SplitBodies,
    ThrottleStatus,
    throttled_error,
)
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(capacity: float = 100, rate: float = 10, **kwargs: Any) -> tuple[RateLimiter, Clock]:
    clock = Clock()
    return RateLimiter(capacity, rate, clock=clock, **kwargs), clock


# --- the buckets ---


def test_a_new_client_starts_with_a_full_bucket_and_pays_each_query() -> None:
    buckets, _ = limiter()
    first = buckets.charge("a", 30)
    second = buckets.charge("a", 30)
    assert first.admitted
    assert second.admitted
    assert first.status == ThrottleStatus(100, 70, 10)
    assert second.status.currently_available == 40


def test_a_query_costing_more_than_is_available_is_refused_and_charged_nothing() -> None:
    buckets, _ = limiter()
    buckets.charge("a", 90)
    refused = buckets.charge("a", 30)
    assert not refused.admitted
    assert refused.status.currently_available == 10  # no partial charge
    assert refused.retry_after_s == pytest.approx(2.0)  # 20 missing points at 10/s
    assert buckets.charge("a", 10).admitted  # a cheaper query still fits


def test_points_are_restored_over_time_up_to_the_bucket_size() -> None:
    buckets, clock = limiter()
    buckets.charge("a", 100)
    clock.now += 2.5
    assert buckets.status("a").currently_available == pytest.approx(25)
    clock.now += 3600
    assert buckets.status("a").currently_available == 100  # never above the bucket
    assert buckets.charge("a", 100).admitted


def test_after_the_retry_hint_the_query_fits() -> None:
    buckets, clock = limiter()
    buckets.charge("a", 95)
    refused = buckets.charge("a", 50)
    assert refused.retry_after_s is not None
    clock.now += refused.retry_after_s
    assert buckets.charge("a", 50).admitted


def test_clients_have_their_own_buckets() -> None:
    buckets, _ = limiter()
    buckets.charge("a", 100)
    assert not buckets.charge("a", 1).admitted
    assert buckets.charge("b", 100).admitted


def test_a_query_bigger_than_the_bucket_can_never_run() -> None:
    buckets, _ = limiter()
    refused = buckets.charge("a", 101)
    assert not refused.admitted
    assert refused.retry_after_s is None
    assert "can never be admitted" in throttled_error(refused)["message"]


def test_status_neither_charges_nor_tracks_a_client() -> None:
    buckets, _ = limiter()
    assert buckets.status("nobody") == ThrottleStatus(100, 100, 10)
    assert len(buckets) == 0


def test_memory_is_bounded_by_evicting_the_least_recently_used_bucket() -> None:
    buckets, _clock = limiter(max_clients=3)
    for client in ("a", "b", "c"):
        buckets.charge(client, 50)
    buckets.charge("a", 10)  # a is now the most recently used
    buckets.charge("d", 50)  # evicts b
    assert len(buckets) == 3
    assert buckets.status("b").currently_available == 100  # forgotten: a fresh bucket
    assert buckets.status("a").currently_available == 40
    for i in range(10_000):
        buckets.charge(f"x{i}", 1)
    assert len(buckets) == 3


def test_a_clock_going_backwards_restores_nothing() -> None:
    buckets, clock = limiter()
    buckets.charge("a", 50)
    clock.now -= 100
    assert buckets.charge("a", 0).status.currently_available == 50


def test_an_admission_charges_once() -> None:
    buckets, _ = limiter()
    admission = Admission(buckets, "a")
    assert admission.status().currently_available == 100
    admission.admit(60)
    admission.admit(60)  # the same request asking again is not charged twice
    assert admission.status().currently_available == 40
    assert buckets.status("a").currently_available == 40


def test_the_throttled_error_says_what_and_when() -> None:
    buckets, _ = limiter()
    buckets.charge("a", 95)
    error = throttled_error(buckets.charge("a", 50))
    assert error["extensions"] == {
        "code": "THROTTLED",
        "requested": 50,
        "currentlyAvailable": 5.0,
        "retryAfterSeconds": 4.5,
    }
    assert "retry in 5 s" in error["message"]


@pytest.mark.parametrize("bad", [{"capacity": 0}, {"rate": 0}, {"max_clients": 0}])
def test_the_limiter_refuses_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        limiter(**bad)


# --- who is a client ---


def scope(client: str | None, key: str | None = None) -> dict[str, Any]:
    headers = [(b"x-api-key", key.encode())] if key is not None else []
    return {"type": "http", "client": (client, 1234) if client else None, "headers": headers}


def test_known_api_keys_get_their_own_bucket_wherever_they_come_from() -> None:
    identity = ClientIdentity("X-API-Key", ["k1", "k2"])
    assert identity(scope("10.0.0.1", "k1")) == identity(scope("10.0.0.2", "k1"))
    assert identity(scope("10.0.0.1", "k1")) != identity(scope("10.0.0.1", "k2"))
    assert identity(scope("10.0.0.1", "k1")).startswith("key:")
    assert "k1" not in identity(scope("10.0.0.1", "k1"))  # a digest, never the key itself


def test_an_unknown_key_counts_as_no_key() -> None:
    # Otherwise inventing a key per request would buy a fresh bucket per request.
    identity = ClientIdentity("X-API-Key", ["k1"])
    assert identity(scope("10.0.0.1", "invented")) == identity(scope("10.0.0.1")) == "addr:10.0.0.1"
    assert ClientIdentity("X-API-Key", [])(scope("10.0.0.1", "k1")) == "addr:10.0.0.1"


def test_ipv6_clients_are_told_apart_by_their_64_prefix() -> None:
    identity = ClientIdentity("X-API-Key", [])
    one = identity(scope("2001:db8:1:2:aaaa::1"))
    assert one == identity(scope("2001:db8:1:2:bbbb::9")) == "addr:2001:db8:1:2::/64"
    assert one != identity(scope("2001:db8:1:3::1"))
    assert identity(scope("::ffff:10.1.2.3")) == "addr:10.1.2.3"
    assert identity(scope(None)) == "addr:unknown"


# --- settings ---


def test_rate_limiting_is_off_by_default_and_its_bucket_must_hold_the_budget() -> None:
    assert ApiSettings().rate_limit is False
    assert ApiSettings().rate_limit_bucket >= ApiSettings().max_query_cost
    with pytest.raises(ValidationError, match="must be at least"):
        ApiSettings(rate_limit=True, rate_limit_bucket=100, max_query_cost=5_000)
    with pytest.raises(ValidationError, match="needs ROLEPULSE_API_COST_ANALYSIS"):
        ApiSettings(rate_limit=True, cost_analysis=False)


def test_api_keys_are_a_comma_separated_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLEPULSE_API_RATE_LIMIT_API_KEYS", " k1, k2 ,,")
    settings = ApiSettings()
    assert settings.rate_limit_keys() == ["k1", "k2"]
    assert "k1" not in repr(settings)


# --- over HTTP ---

TAXONOMY = {"llm-engineer": RoleInfo("llm-engineer", "LLM Engineer", "LLM apps", ("Staff",))}
QUERY = '{ market { openPositions } role(slug: "llm-engineer") { slug } }'  # 4 points


class FakeReadModel:
    def __init__(self) -> None:
        self.reads = 0

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        return {"llm-engineer": {"_id": "llm-engineer", "open": 3}}

    async def market(self) -> MarketAggregateDoc:
        self.reads += 1
        return {"_id": "market", "open_ai": 12}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


async def no_version() -> int | None:
    return None


def client(store: FakeReadModel, *, cached: bool = False, **settings: Any) -> httpx.AsyncClient:
    # Restored at 0.001 points/s: nothing measurable comes back during a test.
    base: dict[str, Any] = {
        "rate_limit": True,
        "rate_limit_bucket": 10,
        "max_query_cost": 10,
        "rate_limit_restore_per_s": 0.001,
    }
    version = None
    if cached:
        version = DataVersion(no_version, 1)
        version.current = 1
    app = create_app(store, TAXONOMY, ApiSettings(**(base | settings)), data_version=version)
    transport = httpx.ASGITransport(app=app, client=("10.0.0.7", 5555))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_burst_is_throttled_with_a_retry_hint() -> None:
    store = FakeReadModel()
    async with client(store) as http:
        bodies = [(await http.post("/graphql", json={"query": QUERY})) for _ in range(3)]
    first, second, third = (r.json() for r in bodies)
    assert first["data"]["market"] == {"openPositions": 12}
    assert first["extensions"]["cost"] == {
        "requested": 4,
        "budget": 10,
        "throttleStatus": {"maximumAvailable": 10, "currentlyAvailable": 6.0, "restoreRate": 0.001},
    }
    assert second["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2.0
    assert third["data"] is None
    (error,) = third["errors"]
    assert error["extensions"]["code"] == "THROTTLED"
    assert error["extensions"]["requested"] == 4
    assert error["extensions"]["retryAfterSeconds"] == pytest.approx(2000, rel=0.01)
    assert third["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2.0
    assert bodies[2].status_code == 200
    assert int(bodies[2].headers["retry-after"]) >= 1999
    assert "retry-after" not in bodies[0].headers
    assert store.reads == 2  # the throttled query never executed


async def test_refused_and_invalid_queries_are_not_charged_beyond_their_price() -> None:
    async with client(FakeReadModel()) as http:
        too_big = await http.post("/graphql", json={"query": "{" + " __typename" * 11 + " }"})
        ok = await http.post("/graphql", json={"query": QUERY})
    assert too_big.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert too_big.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 10
    assert ok.json()["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 6


async def test_api_keys_have_their_own_buckets() -> None:
    async with client(FakeReadModel(), rate_limit_api_keys="alpha,beta") as http:
        for _ in range(2):
            await http.post("/graphql", json={"query": QUERY}, headers={"X-API-Key": "alpha"})
        alpha = await http.post("/graphql", json={"query": QUERY}, headers={"X-API-Key": "alpha"})
        beta = await http.post("/graphql", json={"query": QUERY}, headers={"X-API-Key": "beta"})
        anonymous = await http.post("/graphql", json={"query": QUERY})
    assert alpha.json()["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert "errors" not in beta.json()
    assert "errors" not in anonymous.json()


async def test_answers_from_the_response_cache_are_charged_and_show_the_live_status() -> None:
    store = FakeReadModel()
    async with client(store, cached=True) as http:
        responses = [(await http.post("/graphql", json={"query": QUERY})) for _ in range(3)]
    first, second, third = (r.json() for r in responses)
    assert store.reads == 1  # the second came from the cache
    assert second["data"] == first["data"]
    assert first["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 6.0
    assert second["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 2.0
    assert third["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert third["extensions"]["cost"]["requested"] == 4
    assert int(responses[2].headers["content-length"]) == len(responses[2].content)


async def test_the_graphiql_page_and_health_pass_untouched() -> None:
    async with client(FakeReadModel()) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        health = await http.get("/healthz")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert health.json()["status"] == "ok"


async def test_rate_limiting_off_adds_no_throttle_status() -> None:
    async with client(FakeReadModel(), rate_limit=False) as http:
        response = await http.post("/graphql", json={"query": QUERY})
    assert response.json()["extensions"]["cost"] == {"requested": 4, "budget": 10}


# --- cached bodies split around their throttleStatus ---

JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=20,
)


@given(JSON_DATA, st.booleans(), st.floats(min_value=0, max_value=1e6))
def test_a_split_body_with_a_status_joined_in_is_the_body_encoded_with_it(
    data: Any, stored_status: bool, available: float
) -> None:
    cost: dict[str, Any] = {"requested": 4, "budget": 10}
    if stored_status:
        cost["throttleStatus"] = {"currentlyAvailable": 1.0}
    body = json.dumps({"data": {"x": data, "s": "throttleStatus"}, "extensions": {"cost": cost}})
    split = SplitBodies().get(body.encode())
    assert split is not None
    status = ThrottleStatus(10, available, 0.5).as_json()
    expected = json.loads(body)
    expected["extensions"]["cost"]["throttleStatus"] = status
    joined = split.head + json.dumps(status).encode() + split.tail
    assert joined == json.dumps(expected).encode()
    assert (split.requested, split.errors) == (4, False)


def test_bodies_that_are_not_priced_are_not_split() -> None:
    bodies = SplitBodies()
    for body in (b"<html>", b"[1]", b'{"data": 1}', b'{"extensions": {"cost": {}}}'):
        assert bodies.get(body) is None


def test_split_bodies_are_bounded_in_entries_and_bytes() -> None:
    def priced(data: str) -> bytes:
        return json.dumps({"data": data, "extensions": {"cost": {"requested": 1}}}).encode()

    by_count = SplitBodies(max_entries=3)
    for i in range(5):
        by_count.get(priced(str(i)))
    assert len(by_count) == 3
    by_size = SplitBodies(max_bytes=8_000)  # a body of at most 1,000 bytes is kept
    for i in range(5):
        by_size.get(priced("x" * 800 + str(i)))  # ~850 bytes, counted twice
    assert (len(by_size), by_size.bytes <= 8_000) == (4, True)
    kept = by_size.bytes
    assert by_size.get(priced("x" * 1_000)) is not None  # split all the same, but not kept
    assert (len(by_size), by_size.bytes) == (4, kept)
