from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rolepulse.domain.expiry import (
    OpenPosting,
    RoleSweep,
    expiry_event_id,
    expiry_events,
    refuse_sweep,
    role_tally,
    unpublished,
)
from rolepulse.schema.events import PostingEventV1

NOW = datetime(2026, 11, 30, tzinfo=UTC)
WINDOW = timedelta(days=30)
REPUBLISH_AFTER = timedelta(hours=24)


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


@pytest.mark.parametrize(
    ("expiring", "open_postings", "refused"),
    [
        (0, 0, False),  # nothing to expire: never refused, even on an empty market
        (0, 100, False),
        (20, 100, False),  # exactly the share: allowed
        (21, 100, True),
        (26_215, 26_216, True),  # the year-9999 clock: the whole market
        (5, 3, True),  # fewer open than expiring (a race): the expiring ones count as open
    ],
)
def test_a_sweep_over_the_share_of_the_open_market_is_refused(
    expiring: int, open_postings: int, refused: bool
) -> None:
    refusal = refuse_sweep(expiring, open_postings, max_share=0.20)
    assert (refusal is not None) == refused
    if refusal is not None:
        assert refusal.expiring == expiring
        assert refusal.share == expiring / max(open_postings, expiring)
        assert refusal.share > refusal.max_share


def test_a_share_of_one_never_refuses() -> None:
    assert refuse_sweep(100, 100, max_share=1.0) is None


def test_an_expiry_waiting_in_the_topic_is_not_published_again() -> None:
    waiting = OpenPosting("lever", "1", NOW - timedelta(days=40))
    new = OpenPosting("lever", "2", NOW - timedelta(days=40))
    long_ago = OpenPosting("lever", "3", NOW - timedelta(days=40))
    published = {
        expiry_event_id(waiting): NOW - timedelta(minutes=5),
        expiry_event_id(long_ago): NOW - REPUBLISH_AFTER,  # maybe lost: once more, deduped
    }
    todo = unpublished([waiting, new, long_ago], published, NOW, REPUBLISH_AFTER)
    assert [p.source_id for p in todo] == ["2", "3"]


def test_a_posting_observed_again_since_its_expiry_was_published_gets_a_new_expiry() -> None:
    before = OpenPosting("lever", "1", NOW - timedelta(days=40))
    again = OpenPosting("lever", "1", NOW - timedelta(days=35))  # re-observed, stale once more
    published = {expiry_event_id(before): NOW - timedelta(minutes=5)}
    assert unpublished([again], published, NOW, REPUBLISH_AFTER) == [again]
    [event] = expiry_events([again], NOW, WINDOW)
    assert event["event_id"] == expiry_event_id(again) != expiry_event_id(before)


def test_role_tally_counts_expiries_per_ai_role_against_open_postings() -> None:
    old = NOW - timedelta(days=40)
    expiring = [
        OpenPosting("lever", "1", old, "data-scientist"),
        OpenPosting("lever", "2", old, "data-scientist"),
        OpenPosting("lever", "3", old, "llm-engineer"),
        OpenPosting("lever", "4", old, None),  # not an AI role: in no role
    ]
    open_by_role: dict[str | None, int] = {"data-scientist": 2, "llm-engineer": 10, None: 7}
    assert role_tally(expiring, open_by_role) == {
        "data-scientist": RoleSweep(open=2, expired=2),
        "llm-engineer": RoleSweep(open=10, expired=1),
    }
