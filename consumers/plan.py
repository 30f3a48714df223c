"""Plan the effect of one batch of transitions: new posting states plus coalesced aggregate deltas.

Pure: the store loads what the plan needs (prior states, already-applied event ids) and writes
what it returns, inside one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime

from rolepulse.domain.aggregates import DocRef, coalesce, delta
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
    prior: Mapping[str, PostingState],
    seen_event_ids: Set[str],
) -> BatchPlan:
    """Fold `transitions` (in delivery order) over `prior`; skip event ids already applied."""
    states: dict[str, PostingState | None] = dict(prior)
    applied: list[str] = []
    applied_set: set[str] = set()
    duplicates = 0
    for t in transitions:
        if t.event_id in seen_event_ids or t.event_id in applied_set:
            duplicates += 1
            continue
        key = transition_key(t)
        states[key] = apply(states.get(key), t)  # None only for an expiry of an unknown posting
        applied.append(t.event_id)
        applied_set.add(t.event_id)
    touched = {k: s for k, s in states.items() if s is not None and s != prior.get(k)}
    increments = coalesce(delta(prior.get(k), s) for k, s in touched.items())
    return BatchPlan(
        states=touched,
        inserts=frozenset(k for k in touched if k not in prior),
        increments=increments,
        applied_event_ids=applied,
        duplicate_events=duplicates,
    )


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
