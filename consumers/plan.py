"""Plan the effect of one batch of transitions: new posting states plus coalesced aggregate deltas.

Pure: the store loads what the plan needs (prior states, already-applied event ids) and writes
what it returns, inside one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from datetime import datetime

from rolepulse.domain.aggregates import (
    Deltas,
    DocRef,
    coalesce,
    contribution,
    delta,
    postings_count_delta,
)
from rolepulse.domain.clusters import (
    WINDOW,
    choose_cluster,
    members_by_cluster,
    needs_cluster,
    representative,
)
from rolepulse.domain.history import iso_week
from rolepulse.domain.lifecycle import (
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
    """The aggregate increments of the transitions whose event time falls in one ISO week."""

    week: str  # ISO week of the step's event times, "YYYY-Www"
    increments: dict[DocRef, dict[str, int]]


@dataclass(frozen=True, slots=True)
class TimedPlan:
    states: dict[str, PostingState]  # final state of every posting the batch changed
    inserts: frozenset[str]
    steps: list[WeekStep]  # in event-time order, one per ISO week; usually one
    applied_event_ids: list[str]
    duplicate_events: int
    # Whether a posting is the one its cluster counts through (`counted` on the posting), for
    # every member of each cluster whose representative the batch may have moved; a posting
    # absent here keeps its stored flag (see `counted_flags`).
    counted: dict[str, bool] = field(default_factory=dict)


def plan_by_week(
    transitions: Sequence[Transition],
    prior: Mapping[str, PostingState],
    seen_event_ids: Set[str],
) -> TimedPlan:
    """Plan a batch in steps, one per ISO week of event time.

    Weekly history files each change under the week of the event that caused it (and, being
    cumulative, every week after it), never under the week the consumer happened to be in: so a
    backfill drained partition after partition, or a late event, lands where a replay in any
    partitioning and batch size puts it. The batch is applied in event-time order (stable, so
    equal times keep delivery order); a posting's events share a partition, so this is also the
    order in which each posting lived through them.
    """
    transitions = sorted(transitions, key=lambda t: t.occurred_at)
    states: dict[str, PostingState] = dict(prior)
    seen = set(seen_event_ids)
    steps: list[WeekStep] = []
    applied: list[str] = []
    duplicates = 0
    for week, segment in _week_segments(transitions):
        plan = plan_batch(segment, states, seen)
        states.update(plan.states)
        seen.update(plan.applied_event_ids)
        applied.extend(plan.applied_event_ids)
        duplicates += plan.duplicate_events
        steps.append(WeekStep(week, plan.increments))
    changed = {k: s for k, s in states.items() if s != prior.get(k)}
    return TimedPlan(
        states=changed,
        inserts=frozenset(k for k in changed if k not in prior),
        steps=steps,
        applied_event_ids=applied,
        duplicate_events=duplicates,
        counted=counted_flags(prior, states, changed),
    )


def counted_flags(
    prior: Mapping[str, PostingState],
    final: Mapping[str, PostingState],
    changed: Iterable[str],
) -> dict[str, bool]:
    """Representative flags of every member of the clusters a non-neutral change touched.

    Postings carry `counted` so that figures computed from postings (filters the rollups cannot
    answer) count a job posted on several boards once, through the member the aggregates count.
    Only a non-neutral change can move a cluster's representative, and the store has loaded
    every member of such a cluster (`cluster_lookups`), so the flags computed here are exact; a
    neutral change (a re-observation) leaves its cluster's flags as stored.
    """
    clusters: set[str] = set()
    for key in changed:
        before, after = prior.get(key), final[key]
        if before is not None and _neutral(before, after):
            continue
        clusters.update(c for c in (_cluster_of(before), _cluster_of(after)) if c is not None)
    flags: dict[str, bool] = {}
    for cluster, members in members_by_cluster(final).items():
        if cluster in clusters:
            rep = representative(members)
            for m in members:
                flags[m.posting_key] = rep is not None and m.posting_key == rep.posting_key
    return flags


def _week_segments(transitions: Sequence[Transition]) -> list[tuple[str, list[Transition]]]:
    """Consecutive runs of (time-sorted) transitions in one ISO week of event time."""
    segments: list[tuple[str, list[Transition]]] = []
    for t in transitions:
        week = iso_week(t.occurred_at)
        if segments and segments[-1][0] == week:
            segments[-1][1].append(t)
        else:
            segments.append((week, [t]))
    return segments


@dataclass(frozen=True, slots=True)
class ClusterLookups:
    """What the store must load, beyond the touched postings, for a batch to see its clusters.

    `cluster_ids`: clusters whose members must all be known (their representative may change).
    `keys`: cluster keys a posting (re)joins, each with the first-seen range of the postings
    that could found a cluster it may join; their whole clusters are loaded in turn.
    """

    cluster_ids: frozenset[str]
    keys: dict[str, tuple[datetime, datetime]]


def cluster_lookups(
    transitions: Sequence[Transition],
    known: Mapping[str, PostingState],
    seen_event_ids: Set[str],
) -> ClusterLookups:
    """The clusters a batch can affect, given the stored states of the postings it touches.

    A posting whose open flag, first-seen time, cluster key and contribution all stay as they
    were (a re-observation, the bulk of a daily feed) changes no counter and not which member
    represents its cluster, so its cluster need not be read: that keeps the reads of a batch
    proportional to what changes, never to the size of a cluster or of the store.
    """
    ids: set[str] = set()
    keys: dict[str, tuple[datetime, datetime]] = {}
    states: dict[str, PostingState | None] = {}
    seen = set(seen_event_ids)
    for t in sorted(transitions, key=lambda t: t.occurred_at):
        if t.event_id in seen:
            continue
        seen.add(t.event_id)
        key = transition_key(t)
        before = states.get(key, known.get(key))
        after = apply(before, t)
        states[key] = after
        if after is None or (before is not None and _neutral(before, after)):
            continue
        if before is not None and before.cluster_id is not None:
            ids.add(before.cluster_id)
        cluster_key = _cluster_key(after)
        if cluster_key is not None and needs_cluster(after, known.get(key)):
            lo, hi = after.first_seen_at - WINDOW, after.first_seen_at + WINDOW
            if cluster_key in keys:
                lo, hi = min(lo, keys[cluster_key][0]), max(hi, keys[cluster_key][1])
            keys[cluster_key] = (lo, hi)
    return ClusterLookups(frozenset(ids), keys)


def _neutral(before: PostingState, after: PostingState) -> bool:
    """Whether the change can move neither its own contribution nor its cluster's representative.

    `representative` ranks members by (open, first seen, key) among those with data, and a
    member's cluster depends on its cluster key; `contribution` is all a posting adds.
    """
    if before.open != after.open or before.first_seen_at != after.first_seen_at:
        return False
    if before.posting == after.posting:
        return True  # the common case: a re-observation of unchanged content
    if before.posting is None or after.posting is None:
        return False
    same_key = before.posting.cluster_key == after.posting.cluster_key
    return same_key and contribution(before) == contribution(after)
