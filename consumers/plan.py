"""Plan the effect of one batch of transitions: new posting states plus coalesced aggregate deltas.

Pure: the store loads what the plan needs (prior states, already-applied event ids) and writes
what it returns, inside one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from datetime import datetime

from rolepulse.domain.aggregates import Deltas, DocRef, coalesce, delta, postings_count_delta
from rolepulse.domain.clusters import (
    choose_cluster,
    members_by_cluster,
    needs_cluster,
    representative,
)
from rolepulse.domain.history import iso_week
from rolepulse.domain.lifecycle import (
    Closed,
    Observed,
    PostingState,
    Transition,
    apply,
    transition_key,
)


@dataclass(frozen=True, slots=True)
class BatchPlan:
    states: dict[str, PostingState]  # posting key -> state after the batch (touched keys only)
    inserts: frozenset[str]  # keys with no prior stored state
    increments: dict[DocRef, dict[str, int]]  # one $inc document per touched aggregate document
    applied_event_ids: list[str]
    duplicate_events: int


def plan_batch(
    transitions: Iterable[Transition],
    known: Mapping[str, PostingState],
    seen_event_ids: Set[str],
) -> BatchPlan:
    """Fold `transitions` (in order) over the stored states; skip event ids already applied.

    `known` holds the stored state of every posting the transitions touch AND of every posting
    sharing a cluster key with them, so each touched cluster is seen whole.
    """
    states: dict[str, PostingState] = dict(known)
    applied: list[str] = []
    applied_set: set[str] = set()
    duplicates = 0
    for t in transitions:
        if t.event_id in seen_event_ids or t.event_id in applied_set:
            duplicates += 1
            continue
        key = transition_key(t)
        new = apply(states.get(key), t)
        if new is not None:  # None only for an expiry of a posting never seen
            states[key] = new
        applied.append(t.event_id)
        applied_set.add(t.event_id)
    changed = _assign_clusters(states, known)
    return BatchPlan(
        states=changed,
        inserts=frozenset(k for k in changed if k not in known),
        increments=coalesce(_cluster_deltas(known, states, changed)),
        applied_event_ids=applied,
        duplicate_events=duplicates,
    )


def _assign_clusters(
    states: dict[str, PostingState], known: Mapping[str, PostingState]
) -> dict[str, PostingState]:
    """Give every new or re-keyed posting its cluster; returns all changed states."""
    changed = {k: s for k, s in states.items() if s != known.get(k)}
    by_key: dict[str | None, dict[str, PostingState]] = {}
    for k, s in states.items():
        by_key.setdefault(_cluster_key(s), {})[k] = s
    # First seen first, so the earliest posting of a new cluster founds it, whatever the order
    # in which the batch's partitions arrived.
    for k in sorted(changed, key=lambda k: (changed[k].first_seen_at, k)):
        s = changed[k]
        if needs_cluster(s, known.get(k)):
            same_key = by_key.get(_cluster_key(s), {}).values()
            s = replace(s, cluster_id=choose_cluster(s, same_key))
            states[k] = changed[k] = by_key.setdefault(_cluster_key(s), {})[k] = s
    return changed


def _cluster_deltas(
    known: Mapping[str, PostingState],
    states: Mapping[str, PostingState],
    changed: Mapping[str, PostingState],
) -> Iterable[Deltas]:
    touched = {c for k in changed for c in (_cluster_of(known.get(k)), _cluster_of(changed[k]))}
    touched.discard(None)
    before = members_by_cluster(known)
    after = members_by_cluster(states)
    for c in touched:
        assert c is not None
        yield delta(representative(before.get(c, ())), representative(after.get(c, ())))
    for k, s in changed.items():
        yield postings_count_delta(known.get(k), s)


def _cluster_key(s: PostingState) -> str | None:
    return s.posting.cluster_key if s.posting else None


def _cluster_of(s: PostingState | None) -> str | None:
    return None if s is None else (s.cluster_id or s.posting_key)


@dataclass(frozen=True, slots=True)
class WeekStep:
    """The aggregate increments of the transitions that fall in one ISO week of stream time."""

    clock: datetime | None  # stream time after this step; None before any timed event
    increments: dict[DocRef, dict[str, int]]


@dataclass(frozen=True, slots=True)
class TimedPlan:
    states: dict[str, PostingState]  # final state of every posting the batch changed
    inserts: frozenset[str]
    steps: list[WeekStep]  # in stream-time order; usually one
    applied_event_ids: list[str]
    duplicate_events: int
    clock: datetime | None  # stream time after the batch


def plan_by_week(
    transitions: Sequence[Transition],
    prior: Mapping[str, PostingState],
    seen_event_ids: Set[str],
    clock: datetime | None,
) -> TimedPlan:
    """Plan a batch in steps that end at week boundaries of stream time.

    Weekly history snapshots each role after each step, so a batch that spans weeks (a backfill,
    a catch-up after an outage) still leaves one snapshot per week instead of only the last.
    The batch is applied in event-time order (stable, so equal times keep delivery order): its
    partitions arrive one after the other, and the lifecycle's outcome depends on event times,
    not on delivery order, so this only puts each event in the right week.
    """
    transitions = sorted(transitions, key=lambda t: t.occurred_at)
    states: dict[str, PostingState] = dict(prior)
    seen = set(seen_event_ids)
    steps: list[WeekStep] = []
    applied: list[str] = []
    duplicates = 0
    for step_clock, segment in _week_segments(transitions, clock):
        plan = plan_batch(segment, states, seen)
        states.update(plan.states)
        seen.update(plan.applied_event_ids)
        applied.extend(plan.applied_event_ids)
        duplicates += plan.duplicate_events
        steps.append(WeekStep(step_clock, plan.increments))
        clock = step_clock
    changed = {k: s for k, s in states.items() if s != prior.get(k)}
    return TimedPlan(
        states=changed,
        inserts=frozenset(k for k in changed if k not in prior),
        steps=steps,
        applied_event_ids=applied,
        duplicate_events=duplicates,
        clock=clock,
    )


def _week_segments(
    transitions: Sequence[Transition], clock: datetime | None
) -> list[tuple[datetime | None, list[Transition]]]:
    """Consecutive runs of transitions in one week of stream time, with the clock at each end."""
    clocks: list[datetime | None] = []
    groups: list[list[Transition]] = []
    for t in transitions:
        # Expiry events are derived from stream time; only feed events move the clock.
        if isinstance(t, Observed | Closed):
            clock = t.occurred_at if clock is None else max(clock, t.occurred_at)
        if groups and _week(clocks[-1]) == _week(clock):
            clocks[-1] = clock
            groups[-1].append(t)
        else:
            clocks.append(clock)
            groups.append([t])
    return list(zip(clocks, groups, strict=True))


def _week(clock: datetime | None) -> str | None:
    return None if clock is None else iso_week(clock)
