from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rolepulse.consumers.plan import (
    ClusterLookups,
    TimedPlan,
    cluster_lookups,
    plan_batch,
    plan_by_week,
)
from rolepulse.domain.aggregates import Deltas, coalesce
from rolepulse.domain.clusters import recompute
from rolepulse.domain.lifecycle import Closed, Observed, PostingState, Transition, apply
from rolepulse.domain.model import NormalizedPosting, Seniority, WorkMode

T0 = datetime(2026, 11, 1, tzinfo=UTC)
ROLES = ("llm-engineer", "data-scientist", "mlops-engineer")


def posting(n: int, role: str = "llm-engineer") -> NormalizedPosting:
    return NormalizedPosting(
        f"lever:{n}", "lever", str(n), "LLM Engineer", role, Seniority.MID, ("Python",), "Acme",
        None, WorkMode.REMOTE, None,
    )  # fmt: skip


def obs(eid: str, n: int, h: int, role: str = "llm-engineer") -> Observed:
    return Observed(eid, T0 + timedelta(hours=h), posting(n, role))


def test_duplicate_event_ids_count_once_within_and_across_batches() -> None:
    batch: list[Transition] = [obs("a", 1, 0), obs("a", 1, 0), obs("b", 2, 0), obs("seen", 3, 0)]
    plan = plan_batch(batch, {}, {"seen"})
    assert plan.applied_event_ids == ["a", "b"]
    assert plan.duplicate_events == 2
    assert plan.increments[("role", "llm-engineer")]["open"] == 2


def test_increments_equal_recomputation_after_updates_and_closes() -> None:
    first = plan_batch([obs("a", 1, 0), obs("b", 2, 0)], {}, set())
    prior: dict[str, PostingState] = dict(first.states)
    second = plan_batch(
        [obs("c", 1, 1, role="data-scientist"), Closed("d", T0 + timedelta(hours=2), "lever:2")],
        prior,
        {"a", "b"},
    )
    assert second.inserts == frozenset()
    combined = coalesce([_as_counter(first.increments), _as_counter(second.increments)])
    final = {**prior, **second.states}
    assert _nonzero(combined) == _nonzero(recompute(final))


def test_unchanged_state_is_not_rewritten() -> None:
    s = apply(None, obs("a", 1, 5))
    plan = plan_batch([obs("old", 1, 1)], {"lever:1": s}, set())
    assert plan.increments == {}
    assert plan.states["lever:1"].posting == s.posting
    assert plan.states["lever:1"].first_seen_at == T0 + timedelta(hours=1)


def _as_counter(inc: dict[tuple[str, str], dict[str, int]]) -> Deltas:
    return Counter({(doc, path): v for doc, paths in inc.items() for path, v in paths.items()})


def _nonzero(docs: dict[tuple[str, str], dict[str, int]]) -> dict[tuple[str, str], dict[str, int]]:
    return {d: {p: v for p, v in paths.items() if v} for d, paths in docs.items()}


def test_a_batch_spanning_weeks_is_planned_in_one_step_per_week_of_event_time() -> None:
    monday = datetime(2026, 11, 2, tzinfo=UTC)  # 2026-W45
    batch: list[Transition] = [
        Observed("b", monday + timedelta(hours=1), posting(2)),  # W45
        Observed("a", monday - timedelta(days=1), posting(1)),  # Sunday, W44
        Observed("c", monday + timedelta(days=7), posting(4)),  # W46
        Observed("late", monday - timedelta(days=2), posting(3)),  # delivered last: still W44
    ]
    plan = plan_by_week(batch, {}, set())
    assert [s.week for s in plan.steps] == ["2026-W44", "2026-W45", "2026-W46"]
    opens = [s.increments[("role", "llm-engineer")]["open"] for s in plan.steps]
    assert opens == [2, 1, 1]
    assert plan.inserts == {"lever:1", "lever:2", "lever:3", "lever:4"}


def test_weeks_do_not_depend_on_how_the_batch_was_cut() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    events: list[Transition] = [
        Observed(f"e{i}", start + timedelta(days=i % 20), posting(i % 7, role=ROLES[i % 3]))
        for i in range(60)
    ]
    whole = _by_week([plan_by_week(events, {}, set())])
    # Two partitions (a posting's events share one), drained one after the other: the second
    # batch brings weeks the first has already passed.
    ahead = [t for t in events if isinstance(t, Observed) and int(t.posting.source_id) % 2]
    behind = [t for t in events if t not in ahead]
    first = plan_by_week(ahead, {}, set())
    second = plan_by_week(behind, first.states, {*first.applied_event_ids})
    assert _by_week([first, second]) == whole


def test_week_steps_add_up_to_the_single_batch_plan() -> None:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    batch: list[Transition] = [
        Observed(f"e{i}", start + timedelta(days=i), posting(i % 5, role=ROLES[i % 3]))
        for i in range(40)
    ]
    batch.append(Closed("close", start + timedelta(days=41), "lever:2"))
    stepped = plan_by_week(batch, {}, set())
    single = plan_batch(batch, {}, set())
    summed = coalesce([_as_counter(s.increments) for s in stepped.steps])
    assert _nonzero(summed) == _nonzero(single.increments)
    assert stepped.states == single.states
    assert len(stepped.steps) == 7


def _by_week(plans: list[TimedPlan]) -> dict[str, Deltas]:
    out: dict[str, Deltas] = {}
    for plan in plans:
        for step in plan.steps:
            out.setdefault(step.week, Counter()).update(_as_counter(step.increments))
    return {w: Counter({k: v for k, v in c.items() if v}) for w, c in out.items()}


def test_cluster_lookups_skip_reobservations_that_change_nothing() -> None:
    stored = plan_batch([obs("a", 1, 0), obs("b", 2, 0)], {}, set()).states
    close = Closed("close", T0 + timedelta(hours=6), "lever:2")
    later: list[Transition] = [obs("a2", 1, 5), close, obs("n", 3, 7)]
    lookups = cluster_lookups(later, stored, {"a", "b"})
    # lever:1 is only re-observed; lever:2 closes (its cluster is read); lever:3 is new (its key).
    assert lookups.cluster_ids == {stored["lever:2"].cluster_id}
    assert set(lookups.keys) == {posting(3).cluster_key} - {None}


def test_a_change_that_moves_no_counter_needs_no_cluster_read() -> None:
    stored = plan_batch([obs("a", 1, 0)], {}, set()).states
    moved = replace(posting(1), posted_at=T0, url="https://example.com/1")  # counts nothing
    renamed = replace(posting(1), company="Other Co")  # moves a company counter
    assert cluster_lookups([Observed("b", T0 + timedelta(hours=1), moved)], stored, {"a"}) == (
        ClusterLookups(frozenset(), {})
    )
    lookups = cluster_lookups([Observed("c", T0 + timedelta(hours=1), renamed)], stored, {"a"})
    assert lookups.cluster_ids == {stored["lever:1"].cluster_id}


def board_posting(key: str, company: str = "Acme") -> NormalizedPosting:
    source, sid = key.split(":")
    return NormalizedPosting(
        key, source, sid, "LLM Engineer", "llm-engineer", Seniority.MID, ("Python",), company,
        "Boston", WorkMode.ONSITE, None, cluster_key=f"{company}|llm engineer|Boston",
    )  # fmt: skip


def test_counted_flags_follow_the_cluster_representative() -> None:
    # One job on two boards: the member first seen earliest counts, the other does not.
    first = plan_by_week(
        [
            Observed("a", T0, board_posting("lever:1")),
            Observed("b", T0 + timedelta(hours=1), board_posting("greenhouse:2")),
            Observed("c", T0, board_posting("lever:3", company="Globex")),
        ],
        {},
        set(),
    )
    assert first.counted == {"lever:1": True, "greenhouse:2": False, "lever:3": True}
    stored = dict(first.states)
    # A re-observation moves no representative: no flag to rewrite.
    again = plan_by_week(
        [Observed("d", T0 + timedelta(days=1), board_posting("lever:1"))], stored, {"a", "b", "c"}
    )
    assert again.counted == {}
    # The counting board closes the job: the other board's copy counts now, though its own
    # state is unchanged (the store rewrites only its flag).
    closed = plan_by_week([Closed("e", T0 + timedelta(days=2), "lever:1")], stored, {"a", "b", "c"})
    assert closed.counted == {"lever:1": False, "greenhouse:2": True}
    assert set(closed.states) == {"lever:1"}
