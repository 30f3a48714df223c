"""The metro-levels market says what it means: every board posting normalizes to the labels the
generator recorded for it, its lifecycle ends where the truth says, only the intended jobs share a
cross-board cluster, and the market has the shape it promises (every seniority per role, every
work mode, pay in five currencies and four periods, closes of every kind).

The normalizer and lifecycle are used here only to check the generator's labels; the figures
over those labels are recomputed without them in tests/integration/services/test_metro_market.py.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest

from rolepulse.demo.metro_market import CROSS_POSTED, HEARTBEATS, BoardPosting, Market, generate
from rolepulse.demo.metro_shape import END, METROS, ROLES, ecb_rates
from rolepulse.domain.lifecycle import Closed, Expired, Observed, PostingState, Transition, apply
from rolepulse.domain.model import NormalizedPosting, Seniority, WorkMode
from rolepulse.domain.normalize import Normalizer
from rolepulse.domain.salary import IMPLAUSIBLE_FLAG
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

Event = dict[str, object]


@pytest.fixture(scope="module")
def market() -> Market:
    return generate(ecb_rates())


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(load_taxonomy())


@pytest.fixture(scope="module")
def parsed(market: Market) -> list[PostingEventV1]:
    return [PostingEventV1.model_validate(e) for e in market.events]


def test_same_seed_same_events_and_every_event_is_valid_json(market: Market) -> None:
    again = generate(ecb_rates())
    assert again.events == market.events
    assert again.postings == market.postings
    for raw in market.events:
        assert json.loads(json.dumps(raw)) == raw
    assert generate(ecb_rates(), seed=11).events != market.events


def latest_observations(events: list[PostingEventV1]) -> dict[str, PostingEventV1]:
    """Per posting, the observation that decides its data: latest time, later delivery on ties."""
    out: dict[str, PostingEventV1] = {}
    for e in events:
        if e.event_type != "posting.observed":
            continue
        prior = out.get(e.posting_key)
        if prior is None or e.occurred_at >= prior.occurred_at:
            out[e.posting_key] = e
    return out


def test_each_posting_normalizes_to_its_labels(
    market: Market, parsed: list[PostingEventV1], normalizer: Normalizer
) -> None:
    latest = latest_observations(parsed)
    assert set(latest) == {p.key for p in market.postings}
    for p in market.postings:
        got = normalizer.normalize(latest[p.key])
        assert labels(got) == expected_labels(p), p.key


def labels(n: NormalizedPosting) -> tuple[object, ...]:
    pay = None
    if n.salary is not None:
        plausible = IMPLAUSIBLE_FLAG not in n.flags
        pay = (n.salary.annual_min_usd, n.salary.annual_max_usd, n.salary.source, plausible)
    return (n.role, n.seniority, n.metro, n.work_mode, n.company, frozenset(n.skills), pay)


def expected_labels(p: BoardPosting) -> tuple[object, ...]:
    pay = p.pay and (p.pay.annual_min, p.pay.annual_max, p.pay.source, p.pay.plausible)
    return (p.role, p.seniority, p.metro, p.work_mode, p.company, p.skills, pay)


def states_after(events: list[PostingEventV1], normalizer: Normalizer) -> dict[str, PostingState]:
    """Every posting's state after the feed, redeliveries dropped (the documented lifecycle)."""
    seen: set[str] = set()
    out: dict[str, PostingState] = {}
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        step: Transition
        if e.event_type == "posting.observed":
            step = Observed(e.event_id, e.occurred_at, normalizer.normalize(e))
        elif e.reason == "expired":
            assert e.last_observed_at is not None
            step = Expired(e.event_id, e.occurred_at, e.posting_key, e.last_observed_at)
        else:
            step = Closed(e.event_id, e.occurred_at, e.posting_key)
        state = apply(out.get(e.posting_key), step)
        assert state is not None
        out[e.posting_key] = state
    return out


def test_each_lifecycle_ends_as_the_truth_says(
    market: Market, parsed: list[PostingEventV1], normalizer: Normalizer
) -> None:
    states = states_after(parsed, normalizer)
    for p in market.postings:
        state = states[p.key]
        assert (state.open, state.first_seen_at) == (p.open, p.first_seen), p.key
    ids = Counter(e.event_id for e in parsed)
    assert sum(n - 1 for n in ids.values()) == 50  # verbatim redeliveries
    # Every kind of close: filled, expiries applied and ignored, and late or early deliveries.
    reasons = Counter(e.reason for e in parsed if e.event_type == "posting.closed")
    assert reasons["filled"] > 50
    assert reasons["expired"] > 30
    # ...some of which leave the posting open: reopened, stale, or an expiry it outlived.
    closed_once = {e.posting_key for e in parsed if e.event_type == "posting.closed"}
    still_open = {k for k in closed_once if states[k].open}
    assert len(still_open) > 40
    assert len(closed_once - still_open) > 100


def test_only_the_intended_jobs_share_a_cross_board_cluster(
    market: Market, parsed: list[PostingEventV1], normalizer: Normalizer
) -> None:
    job = {p.key: p.job for p in market.postings}
    by_key: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for e in parsed:
        if e.event_type == "posting.observed":
            key = normalizer.cluster_key(normalizer.normalize(e))
            if key is not None:
                by_key[key].add((e.source, job[e.posting_key]))
    for key, members in by_key.items():
        # Two jobs alike enough to share a key are on one board: two requisitions, no cluster.
        for source, j in members:
            others = {j2 for s2, j2 in members if s2 != source}
            assert others <= {j}, key
    # ...and each cross-posted job's boards share one key, so they do form one cluster.
    boards = Counter(p.job for p in market.postings)
    latest = latest_observations(parsed)
    keys: dict[int, set[str | None]] = defaultdict(set)
    for p in market.postings:
        keys[p.job].add(normalizer.cluster_key(normalizer.normalize(latest[p.key])))
    assert all(None not in k and len(k) == 1 for j, k in keys.items() if boards[j] > 1)
    assert sum(1 for n in boards.values() if n == 2) == CROSS_POSTED
    assert max(boards.values()) == 2
    spans = defaultdict(list)
    for p in market.postings:
        spans[p.job].append(p.first_seen)
    assert all(max(t) - min(t) < timedelta(days=30) for t in spans.values())


def test_the_market_has_the_promised_shape(market: Market, parsed: list[PostingEventV1]) -> None:
    live = [p for p in market.postings if p.open and p.role is not None]
    assert 1_000 < len(live) < 2_000
    for shape in ROLES:
        levels = Counter(p.seniority for p in live if p.role == shape.role)
        assert set(levels) == set(Seniority), shape.role
        assert min(levels.values()) >= 3, (shape.role, levels)
    assert {p.work_mode for p in live} == set(WorkMode)
    assert {p.metro for p in live} == {m.name for m in METROS}
    currencies = Counter(
        str(e.posting.salary.currency) for e in parsed if e.posting.salary is not None
    )
    assert {"USD", "GBP", "EUR", "CAD", "INR"} <= set(currencies)
    periods = {e.posting.salary.period for e in parsed if e.posting.salary is not None}
    assert periods == {"year", "month", "day", "hour"}
    texts = [p.pay for p in live if p.pay is not None and p.pay.source == "text"]
    assert len(texts) > 100
    assert any(p.pay is not None and not p.pay.plausible for p in live)
    assert sum(p.pay is None for p in live) > 200
    assert any(p.company is None for p in live)
    roles_per_company = defaultdict(set)
    for p in live:
        roles_per_company[p.company].add(p.role)
    assert sum(len(r) == len(ROLES) for r in roles_per_company.values()) >= 10
    # Every partition's latest event is at the clock: heartbeats on many postings.
    at_end = {e.posting_key for e in parsed if e.occurred_at == END}
    assert len(at_end) == HEARTBEATS
    assert max(e.occurred_at for e in parsed) == END == market.clock
    assert all(isinstance(e.occurred_at, datetime) for e in parsed)
