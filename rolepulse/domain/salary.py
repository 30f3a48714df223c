"""Pay as published -> annual USD range: parsing pay text, annualizing, plausibility.

One rule annualizes every period (hour x2080, day x260, week x52, month x12, year x1), whatever
the amount: the site we compare against annualized hourly pay only below 500, which mixed hourly
and yearly figures in one average.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from rolepulse.domain.model import NormalizedSalary, SalaryPeriod, SalarySource
from rolepulse.domain.taxonomy import FxTable
from rolepulse.schema.events import MAX_SALARY_AMOUNT

PERIOD_FACTORS: Final[Mapping[SalaryPeriod, int]] = {
    "hour": 2080,
    "day": 260,
    "week": 52,
    "month": 12,
    "year": 1,
}
MIN_PLAUSIBLE_USD: Final = 10_000
MAX_PLAUSIBLE_USD: Final = 5_000_000
IMPLAUSIBLE_FLAG: Final = "salary_implausible"

_MULTIPLIERS: Final[Mapping[str, int]] = {
    "k": 1_000,
    "thousand": 1_000,
    "m": 1_000_000,
    "mm": 1_000_000,
    "million": 1_000_000,
    "lakh": 100_000,
    "lakhs": 100_000,
    "lac": 100_000,
    "lacs": 100_000,
    "lpa": 100_000,
    "crore": 10_000_000,
    "crores": 10_000_000,
}
# The lookahead on the first letters fails most places at once: under IGNORECASE `re` enters
# every alternative (~0.7 µs a figure).
_MULT = r"(?=[ktmlc])(?:k|thousand|mm|m|million|lakhs?|lacs?|lpa|crores?)(?![a-z])"
# European "85.000" (dots group thousands) and French "60 000" (spaces group thousands) are
# tried before "140,000.50" (commas group thousands).
_NUM = (
    r"\d{1,3}(?:\.\d{3})+(?![\d,]|\.\d)"
    r"|\d{1,3}(?:[ \u00a0\u202f'’]\d{3})+(?![\d,.])"
    r"|\d[\d,]*(?:\.\d+)?"
)
_DOT_GROUPED = re.compile(r"\d{1,3}(?:\.\d{3})+")
_SPACE_GROUPED = re.compile(r"\d{1,3}(?:[ \u00a0\u202f'’]\d{3})+")
_SEP = r"\s*(?:--?|–|—|to|and)\s*"
# "$160,000/yr - $220,000/yr", "$70.67/hour to $208,000/year": a period written on one end.
_END_PERIOD = r"(?:\s?/\s?(?P<p{i}>hour|hr|h|day|week|wk|month|mo|year|yr|annum)\b)?"
# How far after an amount a period phrase ("an hour", "/month") may stand and still describe it.
_PERIOD_WINDOW: Final = 30
# One unit after "/", "per", "a" or "an" ("/yr", "per hour", "an hour"), or one adverb ("hourly").
# "per"/"a"/"an" stand alone: "brutto/Jahr" must not read as "a hr". Two top-level branches keep
# the scan cheap: it runs on every pay text.
_PERIOD = re.compile(
    r"(?:/\s*|\b(?:per|an?)\s*)(?P<unit>hours?|hrs?|h|days?|weeks?|wks?|months?|mos?|mths?"
    r"|years?|yrs?|annum)\b"
    r"|\b(?P<adverb>hourly|daily|day rate|weekly|monthly|annual(?:ly)?|yearly|p\.?a"
    # Boards abroad: German, French, Spanish, Dutch month/year words.
    r"|monatlich|pro monat|par mois|mensuel(?:le)?|al mes|mensual|per maand"
    r"|j[äa]hrlich|pro jahr|par an|annuel(?:le)?|al a[ñn]o|anual|per jaar)\b",
    re.IGNORECASE,
)
_PERIOD_SPELLINGS: Final[tuple[tuple[SalaryPeriod, str], ...]] = (
    ("hour", "hour hours hr hrs h hourly"),
    ("day", "day days daily day_rate"),
    ("week", "week weeks wk wks weekly"),
    ("month", "month months mo mos mth mths monthly monatlich mensuel mensuelle mensual"),
    ("month", "pro_monat par_mois al_mes per_maand"),
)
# Anything else the pattern matches ("year", "annum", "p.a", "jährlich") is "year".
_PERIOD_WORDS: Final[Mapping[str, SalaryPeriod]] = {
    word.replace("_", " "): period for period, words in _PERIOD_SPELLINGS for word in words.split()
}
# The capital first, its lookbehind after: `re` then skips to capitals, the rare places a code
# can start, instead of trying every position.
_ISO_CODE = re.compile(r"[A-Z](?<![A-Za-z][A-Z])[A-Z]{2}(?![A-Za-z])")
_UP_TO = re.compile(r"(?:up\s+to|max(?:imum)?|under|no more than)\W*$", re.IGNORECASE)
_FROM = re.compile(r"(?:from|starting(?:\s+at)?|min(?:imum)?|at least)\W*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Pay:
    """Pay as published: either end may be missing (a single figure, "up to", "from")."""

    min: float | None
    max: float | None
    currency: str
    period: SalaryPeriod


def annualize(pay: Pay, fx: FxTable, source: SalarySource, day: date) -> NormalizedSalary | None:
    """Annual USD range in whole dollars at the rate of `day` (the posting's date); None
    without any amount or for a currency `fx` cannot convert.

    A single figure gives min == max; the published ends are kept as they were.
    """
    rate = 1.0 if pay.currency == "USD" else fx.rate_to_usd(pay.currency, day)
    low = pay.min if pay.min is not None else pay.max
    high = pay.max if pay.max is not None else pay.min
    if rate is None or low is None or high is None:
        return None
    factor = PERIOD_FACTORS[pay.period] * rate
    return NormalizedSalary(
        min=pay.min,
        max=pay.max,
        currency=pay.currency,
        period=pay.period,
        annual_min_usd=_whole(low * factor),
        annual_max_usd=_whole(high * factor),
        source=source,
    )


def is_plausible(salary: NormalizedSalary) -> bool:
    """Whether the annual range is one aggregates can trust (10k..5M USD, min <= max)."""
    low, high = salary.annual_min_usd, salary.annual_max_usd
    ends_ordered = salary.min is None or salary.max is None or salary.min <= salary.max
    return MIN_PLAUSIBLE_USD <= low <= high <= MAX_PLAUSIBLE_USD and ends_ordered


def _whole(amount: float) -> int:
    # Half-up rather than Python's banker's rounding, so x.5 never depends on parity.
    return math.floor(amount + 0.5)


class SalaryTextParser:
    """Finds the first pay range in free text such as "$140K–$249K" or "£90,000 - £110,000"."""

    def __init__(self, fx: FxTable) -> None:
        self._currencies = _currency_table(fx)
        cur = "|".join(_currency_regex(token) for token in self._currencies)
        self._currency = re.compile(cur, re.IGNORECASE)
        # In a range the currency is tried after every figure: a look at the next character
        # first fails at once where no token starts (trying each token cost ~3 µs a pay text).
        cur = f"{_token_start(self._currencies)}(?:{cur})"
        amount = (
            r"(?P<n{i}>" + _NUM + r")(?![\d%])"
            r"(?:\s?(?P<m{i}>" + _MULT + r"))?(?:\s?(?P<t{i}>" + cur + r"))?" + _END_PERIOD
        )
        # The range starts at a digit, so the scan skips non-digits quickly; a currency written
        # before the first figure is looked for separately, right before the match.
        self._range = re.compile(
            r"(?=\d)(?<![\w.])"
            + amount.replace("{i}", "1")
            + r"(?:"
            + _SEP
            + r"(?:(?P<c2>"
            + cur
            + r")\s?)?"
            + amount.replace("{i}", "2")
            + r")?",
            re.IGNORECASE,
        )
        self._codes = fx.currencies
        self._longest_token = max(len(token) for token in self._currencies)
        # `names_currency` without the alternation above, which tries every token at every
        # position (~0.7 µs a character): symbols by a character class, words by candidates
        # looked up in a set. Same answers: tokens with a symbol contain one of the symbols.
        symbols = {ch for token in self._currencies for ch in token if not ch.isalnum()}
        self._symbols = tuple(sorted(symbols - {"."}))
        self._words = frozenset(t for t in self._currencies if t.replace(".", "").isalpha())
        codes = {t for t in self._words if len(t) == 3 and t.isupper()}
        others = "|".join(re.escape(t) for t in sorted(self._words - codes, key=len, reverse=True))
        self._word_candidates = re.compile(rf"\b(?:[A-Z]{{3}}|{others})(?![A-Za-z])")

    def names_currency(self, text: str) -> bool:
        """Whether `text` writes a currency symbol or code anywhere."""
        if any(symbol in text for symbol in self._symbols):
            return True
        return any(m.group() in self._words for m in self._word_candidates.finditer(text))

    def parse(self, text: str, dollar: str = "USD") -> Pay | None:
        """The first salary-like range in `text`, or None ("Competitive", "DOE", no amount).

        `dollar` is what a bare "$" means where the posting is (CAD in Toronto, AUD in Sydney);
        an ISO code written in the text ("$180,000 - $250,000 CAD") outranks it.
        """
        for match in self._range.finditer(text):
            pay = self._pay(text, match, dollar)
            if pay is not None:
                return pay
        return None

    def _pay(self, text: str, match: re.Match[str], dollar: str) -> Pay | None:
        groups = match.groupdict()
        c1, prefix_length = self._prefix(text, match.start())
        currency_token = c1 or groups["t1"] or groups["c2"] or groups["t2"]
        after = text[match.end() : match.end() + _PERIOD_WINDOW]
        period_match = _PERIOD.search(after)
        low, high = _amounts(groups)
        marked = currency_token or groups["m1"] or groups["m2"] or period_match or groups["p1"]
        # "Salary (GBP): 50,000 to 60,000": a large figure in text that names a currency is pay.
        if not marked and not (low >= 1000 and self._currency.search(text)):
            return None  # a bare number ("401(k)", "10 years") is not pay
        currency = self._currency_code(text, currency_token, dollar)
        period = _end_period(groups["p2"] or groups["p1"]) or _period(period_match)
        if groups["p1"] and high is not None:
            # Mixed ends ("$70.67/hour to $208,000/year"): the low end is restated per period.
            first = _end_period(groups["p1"]) or period
            low = low * PERIOD_FACTORS[first] / PERIOD_FACTORS[period]
        if not _payable(low) or (high is not None and not _payable(high)):
            # "$" followed by 400 digits is a float overflow, 30 digits an integer no database
            # stores: the same bound as a structured salary's (schema/events.py).
            return None
        if high is not None:
            return Pay(low, high, currency, period)
        before = text[: match.start() - prefix_length]
        if _UP_TO.search(before):
            return Pay(None, low, currency, period)
        single = None if _FROM.search(before) else low
        return Pay(low, single, currency, period)

    def _prefix(self, text: str, start: int) -> tuple[str | None, int]:
        """The currency token written right before a figure ("$", "CA$ ", "USD "), if any.

        Dictionary look-ups of the few possible token lengths: a regex alternation of every
        token, tried at each position of the window, measured ~4 µs per posting.
        """
        window = text[max(0, start - self._longest_token - 1) : start]
        spaced = window[-1:].isspace()
        if spaced:
            window = window[:-1]
        for size in range(min(self._longest_token, len(window)), 0, -1):
            token = window[-size:]
            if token in self._currencies and not (
                token[0].isalpha() and window[-size - 1 : -size].isalpha()
            ):
                return token, size + spaced
        return None, 0

    def _currency_code(self, text: str, token: str | None, dollar: str) -> str:
        if token is None or token == "$":
            # An ISO code named anywhere ("Salary (EUR): 85,000", "$150k - $190k CAD") says what
            # the figures are in; otherwise a bare "$" is the local dollar.
            code = next(
                (m.group() for m in _ISO_CODE.finditer(text) if m.group() in self._codes), None
            )
            if code is not None:
                return code
            if token == "$":
                return dollar
            found = self._currency.search(text)  # a symbol elsewhere: "Salary: 50,000 (£)"
            return self._currencies.get(found.group(0), "USD") if found else dollar
        return self._currencies.get(token, "USD")


def _currency_table(fx: FxTable) -> dict[str, str]:
    """Every currency token -> ISO code, longest first so "CA$" wins over "$"."""
    table = {code: code for code in sorted(fx.currencies)} | dict(fx.symbols)
    return dict(sorted(table.items(), key=lambda item: -len(item[0])))


def _currency_regex(token: str) -> str:
    # Alphabetic tokens ("USD", "Rs") must stand alone and match case-sensitively ("CAD" is a
    # currency, "cad" a drawing tool); "$" and "€" may touch the number.
    if not any(ch.isalpha() for ch in token):
        return re.escape(token)
    head = r"\b" if token[0].isalpha() else ""
    tail = r"(?![A-Za-z])" if token[-1].isalpha() else ""
    return f"{head}(?-i:{re.escape(token)}){tail}"


def _token_start(tokens: Collection[str]) -> str:
    """A lookahead for the first character of any of `tokens`, compared as `_currency_regex`
    compares it: case-sensitively in tokens with letters, under the pattern's flags otherwise."""
    cased = {token[0] for token in tokens if any(ch.isalpha() for ch in token)}
    plain = {token[0] for token in tokens if not any(ch.isalpha() for ch in token)}
    classes = [f"(?-i:[{_escaped(cased)}])"] if cased else []
    classes += [f"[{_escaped(plain)}]"] if plain else []
    return f"(?={'|'.join(classes)})"


def _escaped(chars: Iterable[str]) -> str:
    return "".join(re.escape(ch) for ch in sorted(chars))


def _amounts(groups: dict[str, str | None]) -> tuple[float, float | None]:
    n1, n2 = groups["n1"], groups["n2"]
    m1, m2 = groups["m1"], groups["m2"]
    if n2 is not None:
        # "140-249K": a bare small figure borrows the other end's multiplier.
        if m1 is None and m2 is not None and _number(n1) < 1000:
            m1 = m2
        elif m2 is None and m1 is not None and _number(n2) < 1000:
            m2 = m1
    low = _number(n1) * _multiplier(m1)
    return low, (None if n2 is None else _number(n2) * _multiplier(m2))


def _number(text: str | None) -> float:
    if text is None:
        return 0.0
    # Most figures ("190,000", "85000") cannot be either grouping: spare them both patterns.
    if "." in text and _DOT_GROUPED.fullmatch(text):
        return float(text.replace(".", ""))
    if not ("," in text or text.isdigit()) and _SPACE_GROUPED.fullmatch(text):
        return float("".join(ch for ch in text if ch.isdigit()))
    return float(text.replace(",", "").rstrip(".") or 0)


def _payable(amount: float) -> bool:
    return math.isfinite(amount) and amount <= MAX_SALARY_AMOUNT


def _multiplier(token: str | None) -> int:
    return 1 if token is None else _MULTIPLIERS[token.lower()]


def _end_period(word: str | None) -> SalaryPeriod | None:
    if word is None:
        return None
    return _END_PERIODS[word.lower()]


_END_PERIODS: Final[Mapping[str, SalaryPeriod]] = {
    "hour": "hour",
    "hr": "hour",
    "h": "hour",
    "day": "day",
    "week": "week",
    "wk": "week",
    "month": "month",
    "mo": "month",
    "year": "year",
    "yr": "year",
    "annum": "year",
}


def _period(match: re.Match[str] | None) -> SalaryPeriod:
    if match is None:
        return "year"
    word = (match.group("unit") or match.group("adverb") or "").lower()
    return _PERIOD_WORDS.get(word, "year")


# A description states pay in its own sentence: "The US base salary range for this position is
# $197,000 - $291,000". Only such sentences are read, and only with a written currency, so that
# "competitive compensation and 25 days of leave" or "401(k)" never become pay. OTE is a sales
# figure (base + commission at target), not a salary.
_PAY_CONTEXT = re.compile(
    r"\b(?:salary|salaries|base pay|pay range|pay scale|compensation|hourly rate|wage range"
    # Indeed's "Pay: $150,000.00 - $190,000.00 per year", "pay rate", "starting wage", "base
    # range", "total cash range", India's "CTC".
    r"|pay|pay rates?|wages?|starting rate|base range|cash range|CTC)\b",
    re.IGNORECASE,
)
_NOT_BASE_PAY = re.compile(r"\bOTE\b|on[- ]target earnings", re.IGNORECASE)
_CONTEXT_WINDOW = 240
# A pay heading, a line without figures ("Annual Salary:", "Pay Range", "Base Pay/Salary", "The
# typical pay range for this role is:"), announces the figures on the next, short line:
# Greenhouse's and Workday's pay blocks.
_HEADING_REST = 60
_NEXT_LINE = 120
# Lines that are pay without a pay word: a range opening a line ("$213,000—$438,000 USD",
# "$170K - $220K + equity") or a place's range ("McLean, VA: $225,400 - $257,200 for ...").
_AMOUNT = r"(?:[$£€₹]|[A-Z]{1,3}\$)\s?\d[\d,]*(?:\.\d+)?\s?[kK]?(?:\s?/\s?[a-z]+)?"
_RANGE_LINE = re.compile(
    rf"^[ \t*-]*(?:[A-Z][^:\n$£€₹]{{1,60}}:\s*)?{_AMOUNT}\s*(?:-|–|—|to)\s*{_AMOUNT}[^\n]*",
    re.MULTILINE,
)
# "ranges from $136,000/year in our lowest geographic market up to $222,200/year", "will begin
# at $210,000 and up to $260,000": one range, written as a spread.
_SPREAD = re.compile(
    rf"\b(?:from|at|between)\s+(?P<a>{_AMOUNT})[^$£€₹\n]{{0,80}}?"
    rf"\b(?:and up to|up to|to|and)\s+(?P<b>{_AMOUNT})"
)
# A clause of benefits figures ("tuition assistance of up to $5,250 per year", "an HSA with an
# employer contribution of up to $1,500", "a $500 home office setup stipend") is not pay; a
# range in the same clause as such a word is ("$147,000/year to $208,000/year + bonus").
_BENEFIT = re.compile(
    r"\b(?:bonus|stipend|tuition|reimburs\w*|allowance|relocation|sign[- ]on|referral|401\(?k\)?"
    r"|hsa|contribution|discount|per diem)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[^.;,\n]+(?:[.,](?=\d)[^.;,\n]*)*")
_RANGE_IN_CLAUSE = re.compile(
    rf"(?:{_AMOUNT}|\d[\d,]*(?:\.\d+)?\s?[kK]?)\s*(?:-|–|—|to|and)\s*(?:{_AMOUNT}|\d[\d,]{{3,}})"
)


class DescriptionPay:
    """Pay stated in a description's own pay sentence, for postings with no salary field."""

    def __init__(self, parser: SalaryTextParser) -> None:
        self._parser = parser

    def find(self, description: str, dollar: str = "USD", place: str | None = None) -> Pay | None:
        """The first pay range written after a pay word (on its line, or the next line after a
        heading), else on a line of its own; with several places' ranges, `place`'s."""
        text = self._pay_lines(description)
        return self._find(text, dollar, place) if text else None

    def _pay_lines(self, description: str) -> str:
        """The lines naming a currency, each with the line before it (a pay heading), in order.

        Pay needs a written currency within a line of its pay word, so nothing else can hold
        it; scanning only these lines keeps the pay-word search off most of the text (it cost
        ~25 µs on a whole description).
        """
        lines = description.split("\n")
        keep: list[int] = []
        for number, line in enumerate(lines):
            # Figures first (a C scan), then the currency regex on those few lines only.
            if _DIGIT.search(line) is None or not self._parser.names_currency(line):
                continue
            heading = number - 1
            while heading >= 0 and not lines[heading].strip():
                heading -= 1
            for index in (heading, number):
                if index >= 0 and (not keep or index > keep[-1]):
                    keep.append(index)
        parts: list[str] = []
        for position, index in enumerate(keep):
            if position and index != keep[position - 1] + 1:
                parts.append("\x00")  # not adjacent: no heading reads across the gap
            parts.append(lines[index])
        return "\n".join(parts)

    def _find(self, description: str, dollar: str, place: str | None) -> Pay | None:
        for context in _PAY_CONTEXT.finditer(description):
            window = _window(description, context.start())
            if _NOT_BASE_PAY.search(window) or not self._parser.names_currency(window):
                continue
            pay = self._read(window, dollar, place)
            if pay is not None:
                return pay
        for line in _RANGE_LINE.finditer(description):
            if _NOT_BASE_PAY.search(line.group()):
                continue  # "OTE: $200,000 - $240,000"
            pay = self._read(line.group(), dollar, place, from_amount=True)
            if pay is not None:
                return pay
        return None

    def _read(
        self, window: str, dollar: str, place: str | None, *, from_amount: bool = False
    ) -> Pay | None:
        window = _local(window, place)
        if from_amount and (first := _FIRST_AMOUNT.search(window)) is not None:
            window = window[first.start() :]  # not "Zone 1" of "United States Zone 1: $330,000"
        spread = _SPREAD.search(window)
        if spread is not None:
            window = (
                f"{window[: spread.start('a')]}{spread['a']} - {spread['b']}"
                + window[spread.end("b") :]
            )
        return self._parser.parse(_without_benefits(window), dollar)


def _window(description: str, start: int) -> str:
    end = description.find("\n", start)
    stop = start + _CONTEXT_WINDOW
    window = description[start : stop if end < 0 else min(end, stop)]
    if end < 0 or end - start > _HEADING_REST:
        return window
    line = description[description.rfind("\n", 0, start) + 1 : end]
    if any(c.isdigit() for c in line):
        return window  # figures on the pay word's own line ("Zone 1: $330,000 ... (base salary)")
    following = description[end + 1 : end + 1 + _CONTEXT_WINDOW].lstrip("\n")
    cut = following.find("\n")
    next_line = following if cut < 0 else following[:cut]
    # The next line is the heading's figures only if it is short and states a range ("$340,000
    # —$425,000 USD"); "Salary\nWe raised $300,000,000 last year." is not pay.
    if len(next_line) <= _NEXT_LINE and _RANGE_IN_CLAUSE.search(next_line):
        return f"{window} {next_line}"
    return window


def _local(window: str, place: str | None) -> str:
    """From the posting's place on, when the window gives several places' ranges."""
    if place:
        at = window.lower().find(place.lower())
        if at > 0 and _AMOUNT_START.search(window, at, at + len(place) + 40):
            return window[at:]
    return window


_AMOUNT_START = re.compile(r"[$£€₹]\s?\d")
_DIGIT = re.compile(r"\d")
_FIRST_AMOUNT = re.compile(_AMOUNT)


def _without_benefits(window: str) -> str:
    if not _BENEFIT.search(window):
        return window
    kept = [
        clause.group()
        for clause in _CLAUSE.finditer(window)
        if not _BENEFIT.search(clause.group()) or _RANGE_IN_CLAUSE.search(clause.group())
    ]
    return "; ".join(kept)
