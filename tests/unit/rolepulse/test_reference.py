"""The reference computation (the fault tests' oracle) on small hand-checked event lists."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rolepulse.domain.normalize import Normalizer
from rolepulse.reference import expected, linear_quantile
from rolepulse.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(load_taxonomy())


def ev(eid: str, sid: str, day: int, kind: str = "posting.observed", **extra: Any) -> bytes:
    posting: dict[str, Any] = {"source_id": sid}
    if kind == "posting.observed":
        posting |= {
            "title": extra.pop("title", "Senior LLM Engineer"),
            "company": "Google LLC",
            "location": "New York, NY",
            "salary": extra.pop("salary", {"min": 100000, "max": 200000, "currency": "USD"}),
        }
    body = {
        "version": 1, "event_id": eid, "event_type": kind,
        "occurred_at": f"2026-11-{day:02d}T10:00:00Z", "source": "lever", "posting": posting,
    } | extra  # fmt: skip
    return json.dumps(body).encode()


def expiry(sid: str, seen_day: int) -> bytes:
    return ev(
        f"x-{sid}-{seen_day}", sid, seen_day + 1, "posting.closed",
        reason="expired", last_observed_at=f"2026-11-{seen_day:02d}T10:00:00Z",
    )  # fmt: skip


def test_duplicates_count_once_and_bad_messages_are_rejected(normalizer: Normalizer) -> None:
    out = expected([ev("a", "1", 1), ev("a", "1", 1), b"{", None, ev("b", "2", 1)], normalizer)
    assert out.applied_event_ids == {"a", "b"}
    assert out.rejected_messages == 2
    assert out.figures["market"] == {
        "seen": 2, "open_total": 2, "open_ai": 2, "roles": {"llm-engineer": 2},
    }  # fmt: skip
    role = out.figures["roles"]["llm-engineer"]
    assert role["salary"]["n"] == 2
    assert role["salary"]["max"]["median"] == 200000


def test_event_time_decides_whatever_the_delivery_order(normalizer: Normalizer) -> None:
    events = [
        ev("new", "1", 5, title="AI Product Manager"),
        ev("old", "1", 2),  # older observation after a newer one: no change
        ev("c", "2", 4, "posting.closed"),  # close before its first observation
        ev("o", "2", 3),
    ]
    out = expected(events, normalizer)
    assert out.open_by_key == {"lever:1": True, "lever:2": False}
    assert out.figures["market"]["roles"] == {"ai-product-manager": 1}
    assert out.figures["market"]["seen"] == 2


def test_expiry_applies_only_without_a_later_observation(normalizer: Normalizer) -> None:
    events = [ev("a", "1", 1), ev("b", "2", 1), expiry("1", 1), expiry("2", 1), ev("c", "2", 2)]
    out = expected(events, normalizer)
    assert out.open_by_key == {"lever:1": False, "lever:2": True}
    assert expected([expiry("9", 1)], normalizer).open_by_key == {}  # unknown posting


@pytest.mark.parametrize(
    ("values", "q", "want"),
    [([1], 0.5, 1), ([1, 2], 0.5, 1.5), ([1, 2, 3, 4], 0.25, 1.75), ([10, 20, 30], 0.75, 25)],
)
def test_linear_quantile_matches_numpy_default(values: list[int], q: float, want: float) -> None:
    assert linear_quantile(values, q) == want
