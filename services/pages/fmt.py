"""How the pages write numbers: the seed page's forms ("$203K", "28%", "26,159"). Pure functions.

Rounding is half up, as people round (Python's `round` rounds half to even: $202.5K would read
"$202K"), and a missing figure (no pay disclosed, an empty role) reads as an em dash, never 0.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

MISSING = "—"


def _half_up(value: float) -> int:
    return math.floor(value + 0.5) if value >= 0 else -math.floor(-value + 0.5)


def money(value: float | None) -> str:
    """Annual USD in thousands: 203_000 -> "$203K"; from a million on, "$1.2M"."""
    if value is None:
        return MISSING
    thousands = _half_up(value / 1000)
    if abs(thousands) >= 1000:
        millions = _half_up(value / 100_000) / 10
        return f"${millions:,.1f}M"
    return f"-${-thousands}K" if thousands < 0 else f"${thousands}K"


def money_range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return MISSING
    return f"{money(low)} – {money(high)}"


def pct(value: float | None, digits: int = 0) -> str:
    """A percentage as the page reads it: 28.35 -> "28%"; a share under half a percent that
    is not zero reads "<1%", so a rare skill never looks absent."""
    if value is None:
        return MISSING
    if digits == 0:
        whole = _half_up(value)
        if whole == 0 and value > 0:
            return "<1%"
        return f"{whole}%"
    scale = 10**digits
    return f"{_half_up(value * scale) / scale:.{digits}f}%"


def count(value: int | None) -> str:
    return MISSING if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    """A change: +12, −3 (a true minus sign), 0."""
    if value is None:
        return MISSING
    return f"+{value:,}" if value > 0 else (f"−{-value:,}" if value < 0 else "0")


def timestamp(value: str | None) -> str:
    """An ISO date-time from the API as "2026-11-24 09:30 UTC"."""
    if not value:
        return MISSING
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)  # the API answers in UTC; any other zone, converted
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def count_of(value: float) -> str:
    """An axis value that counts things: 150.0 -> "150"."""
    return f"{value:,.0f}"
