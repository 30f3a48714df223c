"""Plan the effect of one batch of transitions: new posting states plus coalesced aggregate deltas.

Pure: the store loads what the plan needs (prior states, already-applied event ids) and writes
what it returns, inside one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass

from rolepulse.domain.aggregates import DocRef, coalesce, delta
from rolepulse.domain.lifecycle import PostingState, Transition, apply, transition_key


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
