"""Cross-board duplicates: one job posted on several boards counts once.

Postings with the same cluster key (canonical company + normalized title + metro) from
different sources, first seen within `WINDOW` of each other, form one cluster. At most one member
per source: two postings of one board are two requisitions, never duplicates. The cluster counts
in aggregates through one representative member: an open one if any (earliest first seen, then
posting key), else the earliest closed one, which counts only as a job seen. So closing the board
a job was first seen on does not close the job while another board still lists it.

A cluster's id is the posting key of the member that founded it; a posting without a cluster key
(or a close-only tombstone) is a cluster of its own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

from rolepulse.domain.aggregates import (
    Deltas,
    DocRef,
    coalesce,
    contribution,
    postings_count_delta,
)
from rolepulse.domain.lifecycle import PostingState

WINDOW = timedelta(days=30)


def slot(cluster_key: str, first_seen: datetime) -> str:
    """The time slot of a posting's cluster key: one `WINDOW`-long bucket of first-seen times.

    Postings that may share a cluster with one first seen at `t` were first seen within
    `WINDOW` of it, so they sit in the (at most three) slots of `slots(key, t - W, t + W)`: a
    lookup by slot reads a bounded stretch of a key's history, never all of it.
    """
    return f"{cluster_key}#{_bucket(first_seen)}"


def slots(cluster_key: str, lo: datetime, hi: datetime) -> list[str]:
    """Every slot of `cluster_key` that first-seen times from `lo` to `hi` fall in."""
    return [f"{cluster_key}#{b}" for b in range(_bucket(lo), _bucket(hi) + 1)]


def _bucket(at: datetime) -> int:
    return int((at - _EPOCH) // WINDOW)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def representative(members: Iterable[PostingState]) -> PostingState | None:
    with_data = [m for m in members if m.posting is not None]
    if not with_data:
        return None
    return min(with_data, key=lambda m: (not m.open, m.first_seen_at, m.posting_key))


def needs_cluster(state: PostingState, before: PostingState | None) -> bool:
    """Whether `state` must (re)join a cluster: new, or its cluster key changed."""
    if state.cluster_id is None:
        return True
    old_key = before.posting.cluster_key if before and before.posting else None
    new_key = state.posting.cluster_key if state.posting else None
    return old_key != new_key


def choose_cluster(
    state: PostingState, others: Iterable[PostingState], window: timedelta = WINDOW
) -> str:
    """The cluster `state` joins among `others` (all known postings sharing its cluster key)."""
    key = state.posting.cluster_key if state.posting else None
    if key is None:
        return state.posting_key
    source = state.posting.source if state.posting else None
    clusters: dict[str, list[PostingState]] = {}
    for m in others:
        if m.posting_key != state.posting_key and m.cluster_id and _key(m) == key:
            clusters.setdefault(m.cluster_id, []).append(m)
    candidates = [
        (min(m.first_seen_at for m in members), cluster_id)
        for cluster_id, members in clusters.items()
        if all(_source(m) != source for m in members)
        and abs(min(m.first_seen_at for m in members) - state.first_seen_at) <= window
    ]
    # A new cluster is named after its founder and key: a founder that changes title and leaves
    # must not found a cluster with the id its old cluster keeps.
    return min(candidates)[1] if candidates else f"{key}@{state.posting_key}"


def members_by_cluster(states: Mapping[str, PostingState]) -> dict[str, list[PostingState]]:
    out: dict[str, list[PostingState]] = {}
    for s in states.values():
        out.setdefault(s.cluster_id or s.posting_key, []).append(s)
    return out


def _key(state: PostingState) -> str | None:
    return state.posting.cluster_key if state.posting else None


def _source(state: PostingState) -> str | None:
    return state.posting.source if state.posting else None


def recompute(states: Mapping[str, PostingState]) -> dict[DocRef, dict[str, int]]:
    """Every aggregate counter from scratch: what the consumer's increments must add up to."""
    total: Deltas = Counter()
    for members in members_by_cluster(states).values():
        total.update(contribution(representative(members)))
    for state in states.values():
        total.update(postings_count_delta(None, state))
    return coalesce([total])
