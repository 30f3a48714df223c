"""Posting lifecycle: how one event moves a posting's stored state.

Rules (documented in the README):
- The event with the latest `occurred_at` decides whether a posting is open; on equal times the
  later delivery wins. An observation older than the posting's latest event changes nothing,
  except that it supplies the posting's data when all we had was a close (a close that arrives
  before its first observation leaves a data-less closed tombstone).
- Expiry is a conditional close: "close this posting unless it was observed after T", where T is
  the last observation the sweeper saw. It never closes a posting observed after T, whatever the
  arrival order, and an observation after T reopens a posting that expiry closed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, overload

from rolepulse.domain.model import NormalizedPosting

CloseReason = Literal["closed", "expired"]


@dataclass(frozen=True, slots=True)
class PostingState:
    posting_key: str
    posting: NormalizedPosting | None  # None: only a close has been seen so far
    open: bool
    last_event_at: datetime
    last_event_id: str
    first_seen_at: datetime
    last_observed_at: datetime | None = None  # None until the first observation
    closed_reason: CloseReason | None = None
    # The cross-board cluster this posting counts in (see rolepulse/domain/clusters.py); None
    # until the batch planner assigns one.
    cluster_id: str | None = None


@dataclass(frozen=True, slots=True)
class Observed:
    event_id: str
    occurred_at: datetime
    posting: NormalizedPosting


@dataclass(frozen=True, slots=True)
class Closed:
    event_id: str
    occurred_at: datetime
    posting_key: str


@dataclass(frozen=True, slots=True)
class Expired:
    """Close `posting_key` unless it has been observed after `observed_at`."""

    event_id: str
    occurred_at: datetime
    posting_key: str
    observed_at: datetime


Transition = Observed | Closed | Expired


def transition_key(t: Transition) -> str:
    return t.posting.posting_key if isinstance(t, Observed) else t.posting_key


@overload
def apply(prior: PostingState | None, event: Observed | Closed) -> PostingState: ...
@overload
def apply(prior: PostingState, event: Transition) -> PostingState: ...
@overload
def apply(prior: PostingState | None, event: Transition) -> PostingState | None: ...
def apply(prior: PostingState | None, event: Transition) -> PostingState | None:
    """Return the state after `event`; `prior` is the stored state (None if never seen).

    Only an expiry of a posting we have never seen leaves no state (None).
    """
    if isinstance(event, Observed):
        return _observe(prior, event)
    if isinstance(event, Closed):
        return _close(prior, event)
    return _expire(prior, event)


def _observe(prior: PostingState | None, event: Observed) -> PostingState:
    at = event.occurred_at
    if prior is None:
        return PostingState(
            posting_key=event.posting.posting_key,
            posting=event.posting,
            open=True,
            last_event_at=at,
            last_event_id=event.event_id,
            first_seen_at=at,
            last_observed_at=at,
        )
    first_seen = min(prior.first_seen_at, at)
    last_observed = at if prior.last_observed_at is None else max(prior.last_observed_at, at)
    newest = at >= prior.last_event_at
    reopens_expiry = prior.closed_reason == "expired" and last_observed != prior.last_observed_at
    if newest or reopens_expiry:
        return replace(
            prior,
            posting=event.posting,
            open=True,
            last_event_at=max(at, prior.last_event_at),
            last_event_id=event.event_id,
            first_seen_at=first_seen,
            last_observed_at=last_observed,
            closed_reason=None,
        )
    return replace(
        prior,
        posting=prior.posting or event.posting,
        first_seen_at=first_seen,
        last_observed_at=last_observed,
    )


def _close(prior: PostingState | None, event: Closed) -> PostingState:
    if prior is None:
        return PostingState(
            posting_key=event.posting_key,
            posting=None,
            open=False,
            last_event_at=event.occurred_at,
            last_event_id=event.event_id,
            first_seen_at=event.occurred_at,
            closed_reason="closed",
        )
    if event.occurred_at < prior.last_event_at:
        return prior
    return replace(
        prior,
        open=False,
        last_event_at=event.occurred_at,
        last_event_id=event.event_id,
        closed_reason="closed",
    )


def _expire(prior: PostingState | None, event: Expired) -> PostingState | None:
    if prior is None or not prior.open or prior.last_observed_at is None:
        return prior
    if prior.last_observed_at > event.observed_at:
        return prior  # observed again since the sweeper looked: not expired
    return replace(
        prior,
        open=False,
        last_event_at=max(prior.last_event_at, event.occurred_at),
        last_event_id=event.event_id,
        closed_reason="expired",
    )
