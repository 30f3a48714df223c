from datetime import date

import pytest

from rolepulse.domain.model import SalaryPeriod
from rolepulse.domain.salary import DescriptionPay, Pay, SalaryTextParser, annualize, is_plausible
from rolepulse.domain.taxonomy import FxTable

DAY = date(2026, 11, 24)
# The EUR rate moves on this day; every other rate is the same every day.
EUR_MOVES = date(2026, 6, 1)


def fake_rates(currency: str, day: date) -> float | None:
    """A dated lookup standing in for the ECB's (rolepulse/taxonomy/fx.py)."""
    if currency == "EUR":
        return 1.1 if day < EUR_MOVES else 1.2
    return {"GBP": 1.25, "CAD": 0.75, "INR": 0.012}.get(currency)


FX = FxTable(
    currencies=frozenset({"USD", "EUR", "GBP", "CAD", "INR", "AED"}),
    fixed_rates_to_usd={"USD": 1.0, "AED": 0.27},
    symbols={"$": "USD", "CA$": "CAD", "€": "EUR", "£": "GBP", "₹": "INR"},
    dated=fake_rates,
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
        ("$160,000/yr - $220,000/yr", Pay(160_000, 220_000, "USD", "year")),
        ("$117,000/year to $162,000/year", Pay(117_000, 162_000, "USD", "year")),
        ("$55/hr - $65/hr", Pay(55, 65, "USD", "hour")),
        ("$70/hour to $208,000/year", Pay(70 * 2080, 208_000, "USD", "year")),
        ("$119,600 -- $221,400 annually", Pay(119_600, 221_400, "USD", "year")),
        ("$180,000 - $250,000 CAD", Pay(180_000, 250_000, "CAD", "year")),
        ("65.000 € - 85.000 € brutto/Jahr", Pay(65_000, 85_000, "EUR", "year")),
        ("60 000 € - 75 000 € par an", Pay(60_000, 75_000, "EUR", "year")),
        ("₹25 - 40 LPA", Pay(2_500_000, 4_000_000, "INR", "year")),
        ("£40,000 - £50,000 + OTE", Pay(40_000, 50_000, "GBP", "year")),
        ("€5.000 - €6.500 brutto monatlich", Pay(5_000, 6_500, "EUR", "month")),
        ("EUR 120'000 - 150'000", Pay(120_000, 150_000, "EUR", "year")),
    ],
)
def test_pay_text_forms(text: str, expected: Pay) -> None:
    assert PARSER.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "dollar", "currency"),
    [
        ("$150,000 - $170,000 + super", "AUD", "AUD"),
        ("$150,000 - $170,000", "CAD", "CAD"),
        ("USD 150,000", "CAD", "USD"),
        ("CA$150,000", "USD", "CAD"),
        ("$150,000 USD", "AUD", "USD"),
    ],
)
def test_bare_dollar_is_the_local_dollar(text: str, dollar: str, currency: str) -> None:
    pay = PARSER.parse(text, dollar)
    assert pay is not None
    assert pay.currency == currency


@pytest.mark.parametrize(
    "text",
    [
        "Competitive",
        "DOE",
        "Negotiable",
        "Not disclosed",
        "Gehalt nach Vereinbarung",
        "401(k) match and 10% bonus",
        "",
        "CAD design",
    ],
)
def test_text_without_pay_is_none(text: str) -> None:
    assert PARSER.parse(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "$" + "9" * 400,  # a float overflow: inf
        "$" + "9" * 30 + " a year",  # an integer no database stores
        "$2,000,000,000 an hour",  # above the contract's bound per period
        "₹999999 crore",
    ],
)
def test_figures_no_one_is_paid_are_not_pay(text: str) -> None:
    assert PARSER.parse(text) is None


@pytest.mark.parametrize(
    ("period", "factor"), [("hour", 2080), ("day", 260), ("week", 52), ("month", 12), ("year", 1)]
)
def test_one_rule_annualizes_every_period(period: SalaryPeriod, factor: int) -> None:
    # No "hourly only below 500" cut-off: 600/hour is still hourly.
    salary = annualize(Pay(600, 700, "USD", period), FX, "structured", DAY)
    assert salary is not None
    assert (salary.annual_min_usd, salary.annual_max_usd) == (600 * factor, 700 * factor)


def test_fx_converts_and_rounds_half_up_to_whole_dollars() -> None:
    salary = annualize(Pay(85_000.5, 100_000, "EUR", "year"), FX, "text", DAY)
    assert salary is not None
    assert (salary.annual_min_usd, salary.annual_max_usd) == (102_001, 120_000)
    assert (salary.min, salary.max, salary.currency, salary.source) == (
        85_000.5,
        100_000,
        "EUR",
        "text",
    )


def test_single_figure_gives_equal_ends_and_keeps_published_ones() -> None:
    salary = annualize(Pay(None, 220_000, "USD", "year"), FX, "text", DAY)
    assert salary is not None
    assert (salary.min, salary.max) == (None, 220_000)
    assert salary.annual_min_usd == salary.annual_max_usd == 220_000


def test_unknown_currency_or_no_amount_cannot_be_annualized() -> None:
    assert annualize(Pay(100, 200, "XXX", "year"), FX, "structured", DAY) is None
    assert annualize(Pay(None, None, "USD", "year"), FX, "structured", DAY) is None


def test_pay_converts_at_the_rate_of_its_day() -> None:
    pay = Pay(100_000, 100_000, "EUR", "year")
    before = annualize(pay, FX, "structured", date(2026, 5, 31))
    after = annualize(pay, FX, "structured", EUR_MOVES)
    assert before is not None
    assert after is not None
    assert (before.annual_min_usd, after.annual_min_usd) == (110_000, 120_000)


def test_fixed_rates_need_no_dated_rate() -> None:
    # AED is pegged to the dollar and not published by the ECB: its fixed rate converts it.
    salary = annualize(Pay(400_000, 400_000, "AED", "year"), FX, "structured", DAY)
    assert salary is not None
    assert salary.annual_min_usd == 108_000
    assert FX.rate_to_usd("AED", date(2001, 1, 1)) == 0.27


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
    salary = annualize(pay, FX, "structured", DAY)
    assert salary is not None
    assert is_plausible(salary) is plausible


DESCRIPTION_PAY = DescriptionPay(PARSER)


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "Benefits.\nThe US base salary range for this position is between $197,000 - "
            "$291,000 + bonus + equity.",
            Pay(197_000, 291_000, "USD", "year"),
        ),
        (
            "Expected compensation for this position is between $120,000 - $318,000/annual "
            "salary + stock.",
            Pay(120_000, 318_000, "USD", "year"),
        ),
        ("Pay range: £50,000 to £60,000.", Pay(50_000, 60_000, "GBP", "year")),
        # No pay word on the line, no currency, or a sales OTE: not a salary.
        ("We raised $300,000,000 in 2024 from investors.", None),
        ("Competitive compensation and 25 days of leave; 401(k) matching.", None),
        ("Salary\nWe raised $300,000,000 last year.", None),
        ("Compensation: $150,000 - $250,000 OTE.", None),
    ],
)
def test_pay_only_from_a_descriptions_pay_sentence(description: str, expected: Pay | None) -> None:
    assert DESCRIPTION_PAY.find(description) == expected
