from datetime import date

import pytest

from rolepulse.domain.model import SalaryPeriod
from rolepulse.domain.salary import Pay, SalaryTextParser, annualize, is_plausible
from rolepulse.domain.taxonomy import FxTable

FX = FxTable(
    as_of=date(2026, 11, 24),
    rates_to_usd={"USD": 1.0, "EUR": 1.2, "GBP": 1.25, "CAD": 0.75, "INR": 0.012},
    symbols={"$": "USD", "CA$": "CAD", "€": "EUR", "£": "GBP", "₹": "INR"},
)
PARSER = SalaryTextParser(FX)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$140K–$249K", Pay(140_000, 249_000, "USD", "year")),
        ("$140,000 - $249,000 a year", Pay(140_000, 249_000, "USD", "year")),
        ("$65 - $90 an hour", Pay(65, 90, "USD", "hour")),
        ("$12,000/month", Pay(12_000, 12_000, "USD", "month")),
        ("up to $220k", Pay(None, 220_000, "USD", "year")),
        ("From $100k", Pay(100_000, None, "USD", "year")),
        ("£90,000 - £110,000", Pay(90_000, 110_000, "GBP", "year")),
        ("€85k-€100k", Pay(85_000, 100_000, "EUR", "year")),
        ("€85.000 - €95.000", Pay(85_000, 95_000, "EUR", "year")),
        ("CA$120,000", Pay(120_000, 120_000, "CAD", "year")),
        ("$500 per day", Pay(500, 500, "USD", "day")),
        ("$2,000 a week", Pay(2_000, 2_000, "USD", "week")),
        ("$140-249K", Pay(140_000, 249_000, "USD", "year")),
        ("$62.50 an hour", Pay(62.5, 62.5, "USD", "hour")),
        ("$150k/yr, 40 hours per week", Pay(150_000, 150_000, "USD", "year")),
        ("USD 120,000-150,000", Pay(120_000, 150_000, "USD", "year")),
        ("Salary (GBP): 50,000 to 60,000", Pay(50_000, 60_000, "GBP", "year")),
        ("₹15,00,000 - ₹25,00,000", Pay(1_500_000, 2_500_000, "INR", "year")),
        ("$1.2M", Pay(1_200_000, 1_200_000, "USD", "year")),
    ],
)
def test_pay_text_forms(text: str, expected: Pay) -> None:
    assert PARSER.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["Competitive", "DOE", "Negotiable", "401(k) match and 10% bonus", "", "CAD design"]
)
def test_text_without_pay_is_none(text: str) -> None:
    assert PARSER.parse(text) is None


@pytest.mark.parametrize(
    ("period", "factor"), [("hour", 2080), ("day", 260), ("week", 52), ("month", 12), ("year", 1)]
)
def test_one_rule_annualizes_every_period(period: SalaryPeriod, factor: int) -> None:
    # No "hourly only below 500" cut-off: 600/hour is still hourly.
    salary = annualize(Pay(600, 700, "USD", period), FX, "structured")
    assert salary is not None
    assert (salary.annual_min_usd, salary.annual_max_usd) == (600 * factor, 700 * factor)


def test_fx_converts_and_rounds_half_up_to_whole_dollars() -> None:
    salary = annualize(Pay(85_000.5, 100_000, "EUR", "year"), FX, "text")
    assert salary is not None
    assert (salary.annual_min_usd, salary.annual_max_usd) == (102_001, 120_000)
    assert (salary.min, salary.max, salary.currency, salary.source) == (
        85_000.5,
        100_000,
        "EUR",
        "text",
    )


def test_single_figure_gives_equal_ends_and_keeps_published_ones() -> None:
    salary = annualize(Pay(None, 220_000, "USD", "year"), FX, "text")
    assert salary is not None
    assert (salary.min, salary.max) == (None, 220_000)
    assert salary.annual_min_usd == salary.annual_max_usd == 220_000


def test_unknown_currency_or_no_amount_cannot_be_annualized() -> None:
    assert annualize(Pay(100, 200, "XXX", "year"), FX, "structured") is None
    assert annualize(Pay(None, None, "USD", "year"), FX, "structured") is None


@pytest.mark.parametrize(
    ("pay", "plausible"),
    [
        (Pay(140_000, 249_000, "USD", "year"), True),
        (Pay(10_000, 5_000_000, "USD", "year"), True),
        (Pay(9_999, 50_000, "USD", "year"), False),
        (Pay(100_000, 5_000_001, "USD", "year"), False),
        (Pay(200_000, 100_000, "USD", "year"), False),
        (Pay(5_000, 6_000, "USD", "hour"), False),
        (Pay(100_000, 150_000, "INR", "year"), False),
    ],
)
def test_plausibility(pay: Pay, plausible: bool) -> None:
    salary = annualize(pay, FX, "structured")
    assert salary is not None
    assert is_plausible(salary) is plausible
