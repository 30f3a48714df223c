"""The seed-page demo market reproduces every published figure, checked by a plain oracle.

The oracle here recomputes the figures from the events with sorted lists and Counters, not with
rolepulse.domain.aggregates, so a bug shared by the generator's design and the aggregate math
cannot hide; a separate test then checks that the aggregates route gives the same figures.
"""

from __future__ import annotations

import itertools
import json
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolepulse.consumers.decode import decode
from rolepulse.consumers.plan import plan_batch
from rolepulse.demo.salaries import Pay, PayForm, solve
from rolepulse.demo.seed_page import (
    AI_PRODUCT_MANAGER,
    AI_SOFTWARE_ENGINEER,
    SCENARIOS,
    generate,
)
from rolepulse.domain import aggregates
from rolepulse.domain.lifecycle import Closed, Expired, Observed, PostingState, Transition, apply
from rolepulse.domain.model import NormalizedPosting, SalaryBasis, Seniority, WorkMode
from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

SWE, PM = "ai-software-engineer", "ai-product-manager"
SENIOR_PLUS = {Seniority.SENIOR, Seniority.LEAD, Seniority.EXECUTIVE}


@dataclass(frozen=True)
class Published:
    """One role's column of the seed page."""

    open: int
    n: int
    mean_min: int
    mean_max: int
    p25: int
    median: int
    p75: int
    remote: int
    senior_plus: int
    mid: int
    entry: int
    skills: tuple[str, ...]
    companies: tuple[tuple[str, int], ...]
    metros: tuple[str, ...]


PUBLISHED = {
    SWE: Published(
        open=598, n=518, mean_min=140_000, mean_max=249_000,
        p25=203_000, median=235_000, p75=300_000,
        remote=48, senior_plus=329, mid=257, entry=12,
        skills=("RAG", "Python", "Rust", "Kubernetes", "AWS", "Docker", "Claude", "OpenAI"),
        companies=(("Accenture", 112), ("Google", 74), ("Apple", 26), ("GEICO", 18)),
        metros=("San Francisco", "Los Angeles", "New York"),
    ),
    PM: Published(
        open=594, n=475, mean_min=134_000, mean_max=194_000,
        p25=165_000, median=200_000, p75=243_000,
        remote=107, senior_plus=232, mid=350, entry=12,
        skills=("RAG", "Rust", "AWS", "Python", "Prompt Engineering", "GCP", "Salesforce", "Azure"),
        companies=(("Amazon", 79), ("Google", 21), ("Intuit", 16)),
        metros=("New York", "San Francisco"),
    ),
}  # fmt: skip
OPEN_AI_POSITIONS = 26_159

Event = dict[str, object]


@pytest.fixture(scope="module")
def events() -> list[Event]:
    return generate(7)


def transitions() -> list[Transition]:
    normalizer = Normalizer(load_taxonomy())
    outcomes = [decode(json.dumps(e).encode(), normalizer) for e in generate(7)]
    return [t for t in outcomes if isinstance(t, Observed | Closed | Expired)]


@pytest.fixture(scope="module")
def states(events: list[Event]) -> dict[str, PostingState]:
    """Every posting's state after the feed: redeliveries dropped, the rest folded in order."""
    normalizer = Normalizer(load_taxonomy())
    seen: set[str] = set()
    out: dict[str, PostingState] = {}
    for raw in events:
        event = PostingEventV1.model_validate(raw)
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        step: Observed | Closed
        if event.event_type == "posting.observed":
            step = Observed(event.event_id, event.occurred_at, normalizer.normalize(event))
        else:
            step = Closed(event.event_id, event.occurred_at, event.posting_key)
        out[event.posting_key] = apply(out.get(event.posting_key), step)
    return out


@pytest.fixture(scope="module")
def open_postings(states: dict[str, PostingState]) -> list[NormalizedPosting]:
    """Open jobs: a posting whose job was first seen earlier on another board is that job."""
    normalizer = Normalizer(load_taxonomy())
    earliest: dict[str, PostingState] = {}
    for s in sorted(states.values(), key=lambda s: s.first_seen_at):
        assert s.posting is not None
        earliest.setdefault(normalizer.cluster_key(s.posting) or s.posting_key, s)
    return [
        s.posting
        for s in states.values()
        if s.open and s.posting is not None and _counted(s, earliest, normalizer)
    ]


def _counted(s: PostingState, earliest: dict[str, PostingState], normalizer: Normalizer) -> bool:
    assert s.posting is not None
    first = earliest[normalizer.cluster_key(s.posting) or s.posting_key]
    return first is s or first.posting is None or first.posting.source == s.posting.source


def test_some_jobs_are_cross_posted_on_a_second_board(
    states: dict[str, PostingState], open_postings: list[NormalizedPosting]
) -> None:
    open_states = [s for s in states.values() if s.open]
    assert len(open_states) - len(open_postings) == 400


def by_role(postings: list[NormalizedPosting], role: str) -> list[NormalizedPosting]:
    return [p for p in postings if p.role == role]


def quantile(values: list[int], q: float) -> float:
    """numpy's default (linear) quantile, written out over a sorted list."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    lo = int(h)
    if lo + 1 == len(ordered):
        return float(ordered[lo])
    return ordered[lo] + (h - lo) * (ordered[lo + 1] - ordered[lo])


def disclosed(postings: list[NormalizedPosting]) -> list[tuple[int, int]]:
    return [
        (p.salary.annual_min_usd, p.salary.annual_max_usd)
        for p in postings
        if p.salary is not None and "salary_implausible" not in p.flags
    ]


def ranked(counts: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def test_every_event_is_a_valid_v1_event(events: list[Event]) -> None:
    for raw in events:
        PostingEventV1.model_validate(raw)
        assert json.loads(json.dumps(raw)) == raw  # JSON-ready as is, for the JSONL dump
    assert len(events) < 30_000


def test_registry_names_the_seed_page_scenario() -> None:
    assert SCENARIOS["seed-page"] is generate


def test_same_seed_same_events_and_another_seed_differs(events: list[Event]) -> None:
    assert generate(7) == events
    assert generate(8) != events


def test_market_holds_26159_open_ai_positions(open_postings: list[NormalizedPosting]) -> None:
    open_ai = [p for p in open_postings if p.role is not None]
    assert len(open_ai) == OPEN_AI_POSITIONS
    assert {p.role for p in open_ai} == set(load_taxonomy().roles)
    for role in (SWE, PM):
        assert 0.02 < len(by_role(open_ai, role)) / len(open_ai) < 0.025
    # Non-AI titles at AI employers are open postings that never count as AI positions.
    non_ai = [p for p in open_postings if p.role is None]
    assert len(non_ai) > 100
    assert "Vice President, Retail Sales" in {p.title for p in non_ai}


@pytest.mark.parametrize("role", [SWE, PM])
def test_salary_figures_match_the_seed_page(
    open_postings: list[NormalizedPosting], role: str
) -> None:
    want = PUBLISHED[role]
    pays = disclosed(by_role(open_postings, role))
    maxes = [hi for _, hi in pays]
    assert len(pays) == want.n
    assert all(lo <= hi for lo, hi in pays)
    assert sum(lo for lo, _ in pays) == want.mean_min * want.n
    assert sum(maxes) == want.mean_max * want.n
    assert [quantile(maxes, q) for q in (0.25, 0.5, 0.75)] == [want.p25, want.median, want.p75]


@pytest.mark.parametrize("role", [SWE, PM])
def test_mix_figures_match_the_seed_page(open_postings: list[NormalizedPosting], role: str) -> None:
    want = PUBLISHED[role]
    postings = by_role(open_postings, role)
    levels = Counter(p.seniority for p in postings)
    assert len(postings) == want.open
    assert sum(p.work_mode is WorkMode.REMOTE for p in postings) == want.remote
    assert sum(levels[s] for s in SENIOR_PLUS) == want.senior_plus
    assert (levels[Seniority.MID], levels[Seniority.ENTRY]) == (want.mid, want.entry)


@pytest.mark.parametrize("role", [SWE, PM])
def test_top_lists_match_the_seed_page(open_postings: list[NormalizedPosting], role: str) -> None:
    want = PUBLISHED[role]
    postings = by_role(open_postings, role)
    skills = ranked(Counter(s for p in postings for s in p.skills))
    assert [name for name, _ in skills[:8]] == list(want.skills)
    counts = [count for _, count in skills[:9]]
    assert all(a > b for a, b in itertools.pairwise(counts))  # strictly decreasing
    companies = ranked(Counter(p.company for p in postings if p.company))
    top = len(want.companies)
    assert companies[:top] == list(want.companies)
    assert companies[top][1] < want.companies[-1][1]
    metros = ranked(Counter(p.metro for p in postings if p.metro))
    top = len(want.metros)
    assert [name for name, _ in metros[:top]] == list(want.metros)
    assert metros[top - 1][1] > metros[top][1]
    assert all(p.metro is None for p in postings if p.work_mode is WorkMode.REMOTE)


def test_feed_has_redeliveries_reobservations_and_closes(
    events: list[Event], states: dict[str, PostingState]
) -> None:
    ids = Counter(str(e["event_id"]) for e in events)
    assert 100 < sum(c - 1 for c in ids.values()) < 1000
    first: dict[str, tuple[int, Event]] = {}
    observations: Counter[str] = Counter()
    for i, raw in enumerate(events):
        key = PostingEventV1.model_validate(raw).posting_key
        if raw["event_type"] == "posting.observed":
            if key in first:  # a re-observation or redelivery carries the same data
                assert raw["posting"] == first[key][1]["posting"]
            first.setdefault(key, (i, raw))
            observations[key] += 1
        else:  # a close comes after its posting's first observation, in order and in time
            assert key in first
            assert str(raw["occurred_at"]) > str(first[key][1]["occurred_at"])
    assert sum(1 for s in states.values() if not s.open) > 300
    assert all(s.posting is not None for s in states.values())
    assert {str(e["source"]) for e in events} == {
        "greenhouse", "lever", "indeed", "linkedin", "careers-page",
    }  # fmt: skip
    reobserved = [k for k, n in observations.items() if n > 1 and states[k].open]
    assert len(reobserved) > 500


def test_salaries_are_published_in_mixed_forms(events: list[Event]) -> None:
    postings = [cast(Mapping[str, object], e["posting"]) for e in events]
    periods = Counter(
        cast(Mapping[str, object], p["salary"])["period"] for p in postings if p.get("salary")
    )
    texts = {str(p["salary_text"]) for p in postings if p.get("salary_text")}
    assert {"year", "month", "hour"} <= set(periods)
    assert any("K–$" in t for t in texts)
    assert any("an hour" in t for t in texts)
    assert {"Competitive", "DOE"} <= texts


def test_aggregates_route_agrees_with_the_oracle(
    states: dict[str, PostingState], open_postings: list[NormalizedPosting]
) -> None:
    docs = plan_batch(transitions(), {}, set()).increments
    assert docs[("market", aggregates.MARKET_DOC)]["open_ai"] == OPEN_AI_POSITIONS
    for role, want in PUBLISHED.items():
        doc = _nest(docs[("role", role)])
        stats = aggregates.salary_stats(cast(Mapping[str, object], doc["salary"]), SalaryBasis.MAX)
        assert (stats.n, stats.avg_min, stats.avg_max) == (want.n, want.mean_min, want.mean_max)
        assert (stats.p25, stats.median, stats.p75) == (want.p25, want.median, want.p75)
        assert stats.average == want.mean_max
        postings = by_role(open_postings, role)
        skills = aggregates.top_counts(cast(Mapping[str, object], doc["skills"]), 8)
        assert skills == ranked(Counter(s for p in postings for s in p.skills))[:8]
        companies = aggregates.top_counts(cast(Mapping[str, object], doc["companies"]), 4)
        assert companies == ranked(Counter(p.company for p in postings if p.company))[:4]
        modes = aggregates.work_mode_mix(cast(Mapping[str, object], doc["work_mode"]))
        assert modes[WorkMode.REMOTE] == want.remote


def _nest(flat: Mapping[str, int]) -> dict[str, object]:
    """Dotted `$inc` paths to nested documents, as MongoDB would store them."""
    root: dict[str, object] = {}
    for path, value in flat.items():
        *parents, leaf = path.split(".")
        node = root
        for part in parents:
            node = cast(dict[str, object], node.setdefault(part, {}))
        node[leaf] = value
    return root


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_salary_solver_hits_the_figures_for_any_seed(seed: int) -> None:
    for spec in (AI_SOFTWARE_ENGINEER, AI_PRODUCT_MANAGER):
        target = spec.salary
        pays = solve(target, list(spec.fixed_pays), random.Random(seed))
        maxes = [p.annual_max for p in pays]
        assert len(pays) == target.n
        assert all(p.annual_min <= p.annual_max for p in pays)
        assert sum(p.annual_min for p in pays) == target.mean_min * target.n
        assert sum(maxes) == target.mean_max * target.n
        quartiles = [quantile(maxes, q) for q in (0.25, 0.5, 0.75)]
        assert quartiles == [target.p25, target.median, target.p75]
        assert {p.form for p in pays} >= {PayForm.HOUR, PayForm.YEAR}


def test_solver_rejects_an_impossible_target() -> None:
    target = AI_SOFTWARE_ENGINEER.salary
    too_many = [Pay(150_000, 150_000, PayForm.YEAR)] * target.n
    with pytest.raises(ValueError, match="fixed pays"):
        solve(target, too_many, random.Random(0))
