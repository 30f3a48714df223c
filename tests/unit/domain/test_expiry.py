from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rolepulse.domain.expiry import OpenPosting, expiry_events
from schema.events import PostingEventV1

NOW = datetime(2026, 11, 30, tzinfo=UTC)
WINDOW = timedelta(days=30)


def test_only_postings_unobserved_for_longer_than_the_window_expire() -> None:
    stale = OpenPosting("lever", "1", NOW - timedelta(days=31))
    fresh = OpenPosting("lever", "2", NOW - timedelta(days=29))
    edge = OpenPosting("lever", "3", NOW - WINDOW)  # exactly the window: not yet expired
    events = expiry_events([stale, fresh, edge], NOW, WINDOW)
    assert [e["posting"]["source_id"] for e in events] == ["1"]


def test_expiry_event_is_a_valid_conditional_close_with_a_stable_id() -> None:
    p = OpenPosting("greenhouse", "9", datetime(2026, 10, 1, 12, tzinfo=UTC))
    [first] = expiry_events([p], NOW, WINDOW)
    [again] = expiry_events([p], NOW + timedelta(days=3), WINDOW)
    assert first == again  # a second sweep emits the same event, which the consumer dedupes
    event = PostingEventV1.model_validate(first)
    assert event.event_type == "posting.closed"
    assert event.reason == "expired"
    assert event.last_observed_at == p.last_observed_at
    assert event.occurred_at == p.last_observed_at + WINDOW
    assert event.posting_key == "greenhouse:9"
