"""Normalization: one observed posting event -> a `NormalizedPosting`.

Pure and deterministic: every rule comes from the `Taxonomy` (versioned data), compiled once in
`Normalizer.__init__`; `normalize` does no I/O. The matchers live beside this module
(`roles`, `skills`, `places`, `salary`); this one composes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date
from functools import lru_cache
from typing import Final

from rolepulse.domain.companies import CompanyNames
from rolepulse.domain.model import NormalizedPosting, NormalizedSalary
from rolepulse.domain.places import Places, work_mode
from rolepulse.domain.roles import RoleMatcher, SeniorityMatcher
from rolepulse.domain.salary import (
    IMPLAUSIBLE_FLAG,
    DescriptionPay,
    Pay,
    SalaryTextParser,
    annualize,
    is_plausible,
)
from rolepulse.domain.skills import SkillMatcher
from rolepulse.domain.taxonomy import Taxonomy
from rolepulse.schema.events import PostingEventV1, PostingV1

CURRENCY_UNKNOWN_FLAG = "salary_currency_unknown"
_LOCATION_CACHE = 8192

# Cluster keys compare titles as boards abbreviate them differently ("Sr. ML Eng" on one board,
# "Senior Machine Learning Engineer" on another): expand first, then drop the level words.
TITLE_ABBREVIATIONS: Final[Mapping[str, str]] = {
    "sr": "senior",
    "snr": "senior",
    "jr": "junior",
    "eng": "engineer",
    "engr": "engineer",
    "ml": "machine learning",
    "swe": "software engineer",
    "mgr": "manager",
    "dev": "developer",
    "nlp": "natural language processing",
}
LEVEL_WORDS: Final = frozenset(
    [
        "senior",
        "junior",
        "staff",
        "principal",
        "lead",
        "distinguished",
        "intern",
        "internship",
        "graduate",
        "associate",
        "i",
        "ii",
        "iii",
        "iv",
        "v",
    ]
)
# Phrases of level or asides ("(Remote)", "(Contract)") that one board adds and another omits.
_LEVEL_PHRASES = re.compile(r"\bnew[\s-]?grad(?:uate)?\b|\bentry[\s-]level\b|\([^)]*\)?")
_TITLE_WORD = re.compile(r"[a-z0-9+#]+")


class NormalizationError(ValueError):
    """The event cannot be turned into a posting at all (not an observation, no title)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Normalizer:
    """Turns `posting.observed` events into `NormalizedPosting`s using one taxonomy version."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.taxonomy = taxonomy
        self._roles = RoleMatcher(
            taxonomy.role_rules, taxonomy.non_ai_titles, taxonomy.description_evidence
        )
        self._seniority = SeniorityMatcher(
            taxonomy.seniority_rules, taxonomy.seniority_aliases, taxonomy.corporate_titles
        )
        self._skills = SkillMatcher(taxonomy.skills)
        self._companies = CompanyNames(taxonomy.companies, taxonomy.company_suffixes)
        self._places = Places(taxonomy.metros, taxonomy.non_metros)
        self._salary_text = SalaryTextParser(taxonomy.fx)
        self._description_pay = DescriptionPay(self._salary_text)
        self._dollars = [
            (code, re.compile("|".join(patterns)))
            for code, patterns in taxonomy.fx.local_dollars.items()
            if patterns
        ]
        # Locations repeat like titles do ("Toronto, ON"); what "$" means there is pure.
        self._dollar_in = lru_cache(maxsize=_LOCATION_CACHE)(self._dollar)

    def normalize(self, event: PostingEventV1) -> NormalizedPosting:
        """Normalize one observed posting; raises `NormalizationError` if there is none."""
        if event.event_type != "posting.observed":
            raise NormalizationError(f"cannot normalize a {event.event_type} event")
        posting = event.posting
        title, company = _clean(posting.title), _clean(posting.company)
        if not title:
            raise NormalizationError("posting.observed without a title")
        description = posting.description or ""
        metro = self._places.metro(posting.location)
        salary, flags = self._salary(posting, _pay_day(event))
        # No company is no company: counted in its role, in no company figure.
        canonical = self._companies.canonical(company) if company else None
        return NormalizedPosting(
            posting_key=f"{event.source}:{posting.source_id}",
            source=event.source,
            source_id=posting.source_id,
            title=title,
            role=self._roles.match(title, description, canonical),
            seniority=self._seniority.of(title, posting.seniority),
            skills=self._skills.find(title, description),
            company=canonical,
            metro=metro,
            work_mode=work_mode(posting.remote, posting.location, title, metro, description),
            salary=salary,
            url=posting.url,
            posted_at=posting.posted_at,
            flags=flags,
        )

    def cluster_key(self, posting: NormalizedPosting) -> str | None:
        """`"<company>|<normalized title>|<metro or 'remote'>"`: one job across boards.

        None without a company or title: such postings never join a cluster.
        """
        title = normalized_title(posting.title or "")
        if not posting.company or not title:
            return None
        return f"{posting.company}|{title}|{posting.metro or 'remote'}"

    def _salary(
        self, posting: PostingV1, day: date
    ) -> tuple[NormalizedSalary | None, tuple[str, ...]]:
        structured = posting.salary
        if structured is not None and (structured.min is not None or structured.max is not None):
            pay: Pay | None = Pay(
                structured.min, structured.max, structured.currency, structured.period
            )
            salary = annualize(pay, self.taxonomy.fx, "structured", day) if pay else None
        elif posting.salary_text:
            text = posting.salary_text
            dollar = self._dollar_in(posting.location) if "$" in text else "USD"
            pay = self._salary_text.parse(text, dollar)
            salary = annualize(pay, self.taxonomy.fx, "text", day) if pay else None
        elif posting.description and (
            pay := self._description_pay.find(
                posting.description, self._dollar_in(posting.location), _city(posting.location)
            )
        ):
            # Only when the board gave no pay field at all: a field, even "Competitive", wins.
            salary = annualize(pay, self.taxonomy.fx, "description", day)
        else:
            return None, ()
        if salary is None:
            return None, ((CURRENCY_UNKNOWN_FLAG,) if pay is not None else ())
        return salary, (() if is_plausible(salary) else (IMPLAUSIBLE_FLAG,))

    def _dollar(self, location: str | None) -> str:
        """What a bare "$" means where the posting is: CAD in Toronto, AUD in Sydney, else USD."""
        if location and _US_STATE.search(location):
            return "USD"  # Melbourne, FL and Vancouver, WA are American
        if location:
            for code, places in self._dollars:
                if places.search(location):
                    return code
        return "USD"


def normalized_title(title: str) -> str:
    """Lower-cased title words, abbreviations expanded, level words and punctuation dropped."""
    words: list[str] = []
    for word in _TITLE_WORD.findall(_LEVEL_PHRASES.sub(" ", title.lower())):
        words += TITLE_ABBREVIATIONS.get(word, word).split()
    return " ".join(word for word in words if word not in LEVEL_WORDS)


_US_STATE = re.compile(
    r",\s*(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT"
    r"|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY)\b"
)
_PLACE_SPLIT = re.compile(r"[,;|(/•]")


def _city(location: str | None) -> str | None:
    """The first place's city name, to pick its range among several ("Seattle: $120,000...")."""
    if not location:
        return None
    city = _PLACE_SPLIT.split(location, 1)[0].strip()
    return city if len(city) >= 3 else None


def _pay_day(event: PostingEventV1) -> date:
    """The day whose exchange rate converts the pay: the posting's date, else this observation's.

    Without a board date each observation converts at its own day's rate; the stored posting
    takes the latest observation's figures, as it does for every other field.
    """
    return (event.posting.posted_at or event.occurred_at).astimezone(UTC).date()


def _clean(text: str | None) -> str:
    return " ".join(text.split()) if text else ""
