"""How the pages write numbers."""

from __future__ import annotations

import pytest

from rolepulse.services.pages import fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, "—"), (0, "$0K"), (203_000, "$203K"), (202_500, "$203K"), (202_499, "$202K"),
     (249_000.0, "$249K"), (999_499, "$999K"), (999_500, "$1.0M"), (1_250_000, "$1.3M"),
     (5_000_000, "$5.0M"), (-55_000, "-$55K")],
)  # fmt: skip
def test_money_rounds_half_up_to_thousands(value: float | None, text: str) -> None:
    assert fmt.money(value) == text


def test_money_range() -> None:
    assert fmt.money_range(140_000, 249_000) == "$140K – $249K"
    assert fmt.money_range(None, 249_000) == "—"


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(None, 0, "—"), (28.350515, 0, "28%"), (8.02, 0, "8%"), (2.5, 0, "3%"), (0.0, 0, "0%"),
     (0.3, 0, "<1%"), (50.0, 0, "50%"), (28.35, 1, "28.4%"), (-3.5, 0, "-4%")],
)  # fmt: skip
def test_pct(value: float | None, digits: int, text: str) -> None:
    assert fmt.pct(value, digits) == text


def test_counts_and_changes() -> None:
    assert fmt.count(26_159) == "26,159"
    assert fmt.count(None) == "—"
    assert fmt.count_of(150.0) == "150"
    assert [fmt.signed(v) for v in (12, -3, 0, None)] == ["+12", "−3", "0", "—"]


def test_timestamp_is_utc() -> None:
    assert fmt.timestamp("2026-11-22T23:49:00+00:00") == "2026-11-22 23:49 UTC"
    assert fmt.timestamp("2026-11-23T01:49:00+02:00") == "2026-11-22 23:49 UTC"
    assert fmt.timestamp("2026-11-22T23:49:00") == "2026-11-22 23:49 UTC"  # no zone: UTC
    assert fmt.timestamp(None) == "—"
