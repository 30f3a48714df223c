from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rolepulse.domain.lifecycle import Closed, Expired, Observed, apply
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


def expiry(eid: str, h: int, observed_h: int) -> Expired:
    return Expired(eid, at(h), KEY, observed_at=at(observed_h))


def test_expiry_closes_a_posting_not_observed_since() -> None:
    s = apply(None, Observed("o1", at(0), posting()))
    s = apply(s, expiry("x", 720, observed_h=0))
    assert not s.open
    assert s.closed_reason == "expired"


def test_expiry_never_closes_a_posting_observed_after_it_was_computed() -> None:
    s = apply(None, Observed("o1", at(0), posting()))
    s = apply(s, Observed("o2", at(10), posting()))
    assert apply(s, expiry("x", 720, observed_h=0)) == s


def test_late_observation_reopens_an_expired_posting() -> None:
    s = apply(None, Observed("o1", at(0), posting()))
    s = apply(s, expiry("x", 720, observed_h=0))
    s = apply(s, Observed("o2", at(10), posting("LLM Engineer II")))  # arrives after the expiry
    assert s.open
    assert s.closed_reason is None
    assert s.posting is not None
    assert s.posting.title == "LLM Engineer II"
    assert s.last_observed_at == at(10)


def test_a_real_close_is_not_undone_by_an_older_observation() -> None:
    s = apply(None, Observed("o1", at(0), posting()))
    s = apply(s, Closed("c", at(20), KEY))
    s = apply(s, Observed("o2", at(10), posting()))
    assert not s.open
    assert s.closed_reason == "closed"


def test_expiry_of_an_unknown_or_closed_posting_changes_nothing() -> None:
    assert apply(None, expiry("x", 720, observed_h=0)) is None
    closed = apply(apply(None, Observed("o1", at(0), posting())), Closed("c", at(1), KEY))
    assert apply(closed, expiry("x", 720, observed_h=0)) == closed
