"""Cross-board clusters: one job on several boards counts once, whatever the batching."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rolepulse.consumers.plan import plan_batch
from rolepulse.domain.aggregates import Deltas, coalesce
from rolepulse.domain.clusters import WINDOW, recompute, slot, slots
from rolepulse.domain.lifecycle import Closed, Observed, PostingState, Transition
from rolepulse.domain.model import NormalizedPosting, Seniority, WorkMode

T0 = datetime(2026, 10, 1, tzinfo=UTC)
SOURCES = ("greenhouse", "lever", "linkedin")
TITLES = ("LLM Engineer", "Data Scientist")
ROLE_OF = {"LLM Engineer": "llm-engineer", "Data Scientist": "data-scientist"}


def posting(source: str, sid: str, title: str = "LLM Engineer") -> NormalizedPosting:
    return NormalizedPosting(
        f"{source}:{sid}", source, sid, title, ROLE_OF[title], Seniority.MID, ("Python",),
        "Acme", "New York", WorkMode.ONSITE, None,
        cluster_key=f"Acme|{title.lower()}|New York",
    )  # fmt: skip


def obs(eid: str, source: str, sid: str, day: float, title: str = "LLM Engineer") -> Observed:
    return Observed(eid, T0 + timedelta(days=day), posting(source, sid, title))


def run(batches: list[list[Transition]]) -> tuple[dict[str, PostingState], Deltas]:
    """Apply batches as the store does; returns final states and the summed increments."""
    states: dict[str, PostingState] = {}
    seen: set[str] = set()
    total: Deltas = Counter()
    for batch in batches:
        plan = plan_batch(batch, dict(states), seen)
        states.update(plan.states)
        seen.update(plan.applied_event_ids)
        for doc, paths in plan.increments.items():
            total.update({(doc, p): v for p, v in paths.items()})
    return states, total


def opens(total: Deltas, role: str = "llm-engineer") -> int:
    return total[(("role", role), "open")]


def test_the_same_job_on_two_boards_counts_once() -> None:
    states, total = run([[obs("a", "greenhouse", "1", 0), obs("b", "linkedin", "9", 2)]])
    assert opens(total) == 1
    assert total[(("market", "market"), "seen")] == 1
    assert total[(("market", "market"), "postings")] == 2
    assert states["greenhouse:1"].cluster_id == states["linkedin:9"].cluster_id


def test_two_postings_on_one_board_are_two_jobs() -> None:
    _, total = run([[obs("a", "lever", "1", 0)], [obs("b", "lever", "2", 1)]])
    assert opens(total) == 2


def test_postings_further_apart_than_the_window_are_two_jobs() -> None:
    _, total = run([[obs("a", "lever", "1", 0), obs("b", "linkedin", "2", 45)]])
    assert opens(total) == 2


def test_a_job_stays_open_while_any_board_lists_it() -> None:
    close_first = Closed("c", T0 + timedelta(days=5), "greenhouse:1")
    states, total = run(
        [[obs("a", "greenhouse", "1", 0)], [obs("b", "linkedin", "9", 1)], [close_first]]
    )
    assert opens(total) == 1
    close_second = Closed("d", T0 + timedelta(days=6), "linkedin:9")
    plan = plan_batch([close_second], states, {"a", "b", "c"})
    assert plan.increments[("role", "llm-engineer")]["open"] == -1


def test_a_retitled_posting_leaves_its_cluster() -> None:
    retitled = obs("c", "linkedin", "9", 3, title="Data Scientist")
    _, total = run([[obs("a", "greenhouse", "1", 0), obs("b", "linkedin", "9", 1)], [retitled]])
    assert opens(total) == 1
    assert opens(total, "data-scientist") == 1


event = st.tuples(
    st.sampled_from(SOURCES),
    st.integers(0, 3),  # source id
    st.sampled_from(("observe", "observe", "close")),
    st.sampled_from(TITLES),
    st.integers(0, 60),  # day
)


@settings(max_examples=150, deadline=None)
@given(st.lists(event, max_size=30), st.lists(st.integers(1, 30), max_size=5))
def test_increments_always_equal_a_recomputation(
    events: list[tuple[str, int, str, str, int]], cuts: list[int]
) -> None:
    transitions: list[Transition] = []
    for i, (source, sid, kind, title, day) in enumerate(events):
        at = T0 + timedelta(days=day)
        if kind == "observe":
            transitions.append(Observed(f"e{i}", at, posting(source, str(sid), title)))
        else:
            transitions.append(Closed(f"e{i}", at, f"{source}:{sid}"))
    bounds = sorted({0, len(transitions), *[c for c in cuts if c < len(transitions)]})
    batches = [transitions[a:b] for a, b in itertools.pairwise(bounds)]
    states, total = run(batches)
    assert coalesce([total]) == recompute(states)


def test_recompute_counts_each_cluster_through_its_open_representative() -> None:
    a = PostingState("greenhouse:1", posting("greenhouse", "1"), False, T0, "x", T0,
                     cluster_id="c")  # fmt: skip
    b = replace(a, posting_key="lever:2", posting=posting("lever", "2"), open=True)
    totals = recompute({"greenhouse:1": a, "lever:2": b})
    assert totals[("role", "llm-engineer")]["open"] == 1
    assert totals[("market", "market")]["seen"] == 1
    assert totals[("market", "market")]["postings"] == 2


def test_slots_around_a_time_cover_every_posting_first_seen_within_the_window() -> None:
    t = datetime(2026, 11, 2, 9, tzinfo=UTC)
    around = slots("k", t - WINDOW, t + WINDOW)
    assert len(around) <= 3
    for days in range(-30, 31):
        assert slot("k", t + timedelta(days=days)) in around
    assert slot("other", t) not in around
