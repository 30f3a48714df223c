"""The store's pure helpers: conflicts among event ids, the bounded event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rolepulse.consumers.store import EVENT_LOG_LIMIT, Delivered, _newest_events, _split_conflicts
from rolepulse.domain.lifecycle import Closed

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def closing(eid: str, digest: str | None, offset: int) -> Delivered:
    return Delivered("postings", 0, offset, Closed(eid, T0, "lever:1"), digest=digest)


def test_same_id_same_content_is_left_as_a_duplicate_other_content_is_a_conflict() -> None:
    batch = [closing("a", "h1", 0), closing("a", "h1", 1), closing("a", "h2", 2)]
    valid, conflicts = _split_conflicts(batch, {})
    assert [m.offset for m in valid] == [0, 1]
    assert [m.offset for m in conflicts] == [2]
    assert conflicts[0].transition is None
    assert (conflicts[0].reject_reason or "").startswith("conflict: event_id 'a'")


def test_an_id_already_in_a_posting_log_conflicts_with_other_content_only() -> None:
    valid, conflicts = _split_conflicts(
        [closing("a", "h1", 0), closing("b", "h9", 1), closing("c", None, 2)],
        {"a": "h1", "b": "h2", "c": "h3"},
    )
    assert [m.offset for m in valid] == [0, 2]  # no digest known: cannot tell, not a conflict
    assert [m.offset for m in conflicts] == [1]


def test_the_event_log_keeps_the_newest_entries_once() -> None:
    log = [{"id": f"e{i}", "h": None, "at": T0 + timedelta(hours=i)} for i in range(100)]
    kept = _newest_events([*log, log[-1]])
    assert len(kept) == EVENT_LOG_LIMIT
    assert kept[-1]["id"] == "e99"
    assert kept[0]["id"] == f"e{100 - EVENT_LOG_LIMIT}"
