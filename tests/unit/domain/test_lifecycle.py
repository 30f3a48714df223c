from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rolepulse.domain.lifecycle import Closed, Observed, apply
from rolepulse.domain.model import NormalizedPosting, Seniority, WorkMode

T0 = datetime(2026, 11, 1, tzinfo=UTC)
KEY = "lever:42"


def posting(title: str = "LLM Engineer") -> NormalizedPosting:
    return NormalizedPosting(
        KEY, "lever", "42", title, "llm-engineer", Seniority.MID, (), "Acme", None,
        WorkMode.UNKNOWN, None,
    )  # fmt: skip


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def test_observation_opens_and_close_closes() -> None:
    s = apply(None, Observed("e1", at(0), posting()))
    assert s.open
    assert s.posting == posting()
    s = apply(s, Closed("e2", at(1), KEY))
    assert not s.open
    assert s.posting == posting()  # data kept for history


def test_newer_observation_updates_data() -> None:
    s = apply(None, Observed("e1", at(0), posting("LLM Engineer")))
    s = apply(s, Observed("e2", at(2), posting("Senior LLM Engineer")))
    assert s.posting is not None
    assert s.posting.title == "Senior LLM Engineer"
    assert s.first_seen_at == at(0)
    assert s.last_event_at == at(2)


def test_older_observation_after_newer_changes_nothing() -> None:
    s = apply(None, Observed("e2", at(2), posting("new")))
    s2 = apply(s, Observed("e1", at(1), posting("old")))
    assert s2.posting is not None
    assert s2.posting.title == "new"
    assert s2.first_seen_at == at(1)


def test_close_before_first_observation_leaves_posting_closed() -> None:
    s = apply(None, Closed("c", at(5), KEY))
    assert not s.open
    assert s.posting is None
    s = apply(s, Observed("o", at(1), posting()))  # the older observation arrives late
    assert not s.open
    assert s.posting == posting()


def test_reobservation_after_close_reopens() -> None:
    s = apply(None, Observed("e1", at(0), posting()))
    s = apply(s, Closed("e2", at(1), KEY))
    s = apply(s, Observed("e3", at(3), posting()))
    assert s.open


def test_stale_close_is_ignored() -> None:
    s = apply(None, Observed("e2", at(3), posting()))
    assert apply(s, Closed("e1", at(1), KEY)) == s
