"""Posting lifecycle: how one event moves a posting's stored state.

Rule (documented in the README): the event with the latest `occurred_at` decides whether a posting
is open; on equal times the later delivery wins. An observation older than the posting's latest
event changes nothing, except that it supplies the posting's data when all we had was a close
(a close that arrived before its first observation leaves a data-less closed tombstone).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rolepulse.domain.model import NormalizedPosting


@dataclass(frozen=True, slots=True)
class PostingState:
    posting_key: str
    posting: NormalizedPosting | None  # None: only a close has been seen so far
    open: bool
    last_event_at: datetime
    last_event_id: str
    first_seen_at: datetime


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


Transition = Observed | Closed


def apply(prior: PostingState | None, event: Transition) -> PostingState:
    """Return the state after `event`; `prior` is the stored state (None if never seen)."""
    if isinstance(event, Observed):
        return _observe(prior, event)
    return _close(prior, event)


def _observe(prior: PostingState | None, event: Observed) -> PostingState:
    if prior is None:
        return PostingState(
            posting_key=event.posting.posting_key,
            posting=event.posting,
            open=True,
            last_event_at=event.occurred_at,
            last_event_id=event.event_id,
            first_seen_at=event.occurred_at,
        )
    first_seen = min(prior.first_seen_at, event.occurred_at)
    if event.occurred_at < prior.last_event_at:
        if prior.posting is None:
            return replace(prior, posting=event.posting, first_seen_at=first_seen)
        return replace(prior, first_seen_at=first_seen)
    return replace(
        prior,
        posting=event.posting,
        open=True,
        last_event_at=event.occurred_at,
        last_event_id=event.event_id,
        first_seen_at=first_seen,
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
        )
    if event.occurred_at < prior.last_event_at:
        return prior
    return replace(prior, open=False, last_event_at=event.occurred_at, last_event_id=event.event_id)
