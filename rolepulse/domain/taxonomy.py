"""Taxonomy types: the reference data normalization matches against and the API describes.

The data itself lives in versioned JSON files under `rolepulse/taxonomy/data/`; loading them is
I/O and happens in `rolepulse.taxonomy.load_taxonomy`, called from each process's composition root.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

from rolepulse.domain.model import Seniority


@dataclass(frozen=True, slots=True)
class RoleInfo:
    slug: str
    name: str  # display name, e.g. "AI Software Engineer"
    focus: str  # one-line focus
    career_path: tuple[str, ...]  # typical progression, e.g. ("Senior AI Engineer", ...)


@dataclass(frozen=True, slots=True)
class RoleRule:
    """How titles map to one role: regexes, matched case-insensitively against the title.

    A title matches when one of `patterns` matches, one of `requires` matches (if any are given)
    and none of `excludes` matches. Rules are tried in the order the taxonomy lists them.
    """

    role: str  # role slug
    patterns: tuple[str, ...]
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SeniorityRule:
    """Title regexes (case-insensitive) that put a posting at one seniority level."""

    level: Seniority
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CorporateTitles:
    """Banks' and consulting firms' grades ("Vice President", "AVP", "Senior Consultant").

    A grade written as a part of the title of its own, beside a job title matching one of
    `individual_titles` ("Data Scientist, Assistant Vice President"), is that job's level; beside
    a function instead ("Vice President, Applied AI Engineering"), one of `leaders` heads it.
    """

    grades: Mapping[str, Seniority] = field(default_factory=lambda: MappingProxyType({}))
    leaders: frozenset[str] = frozenset()
    individual_titles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkillInfo:
    """A canonical skill with literal aliases and, where literals cannot say it, raw regexes.

    Aliases match case-insensitively on word boundaries; a space or hyphen in an alias matches
    either. Patterns are regexes compiled case-insensitively; they opt out with `(?-i:...)`.
    """

    name: str
    category: str
    aliases: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    # Case-insensitive regexes for phrases around a pattern's leading literal: where one occurs,
    # the patterns' hits in that text name something else (a support team's "agents" are people,
    # also in "AI-assisted replies for our agents"). Aliases are never vetoed.
    pattern_vetoes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MetroInfo:
    name: str  # canonical metro name, e.g. "San Francisco"
    aliases: tuple[str, ...]  # lower-case location strings, e.g. "sf bay area", "san francisco, ca"


@dataclass(frozen=True, slots=True)
class CompanyInfo:
    name: str  # canonical name with its known capitalization, e.g. "GEICO"
    aliases: tuple[str, ...]  # lower-case names as boards publish them, e.g. "amazon.com"


RateLookup = Callable[[str, date], float | None]
"""USD per unit of an ISO 4217 currency on a day, or None where it cannot be converted."""


def no_dated_rates(currency: str, day: date) -> float | None:
    """A `RateLookup` that converts nothing: only the fixed rates apply."""
    return None


@dataclass(frozen=True, slots=True)
class FxTable:
    """The currencies pay text names, and what one unit of each is worth in USD on a day.

    Rates are by day (a salary converts at the rate of its posting's date), so they are a
    lookup, not data: `dated` is injected where the taxonomy is loaded (the ECB's reference
    rates in `rolepulse.taxonomy.fx`), and this module stays free of I/O. `fixed_rates_to_usd`
    holds USD and the currencies pegged to it that the dated source does not publish.
    """

    currencies: frozenset[str]  # ISO 4217 codes pay text recognizes ("EUR", "INR")
    fixed_rates_to_usd: Mapping[str, float]  # ISO code -> USD per unit, whatever the day
    symbols: Mapping[str, str]  # symbol as written, e.g. "CA$" -> "CAD"
    # ISO code -> location regexes (case-sensitive) where a bare "$" means that dollar.
    local_dollars: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    dated: RateLookup = no_dated_rates

    def rate_to_usd(self, currency: str, day: date) -> float | None:
        """USD per unit of `currency` on `day`; None for a currency neither source converts."""
        fixed = self.fixed_rates_to_usd.get(currency)
        return fixed if fixed is not None else self.dated(currency, day)


@dataclass(frozen=True, slots=True)
class DescriptionEvidence:
    """When a generic title ("Software Engineer") may take its role from the description.

    The title must match one of `titles[role]` and none of `excludes`; the description must
    mention at least `min_terms` different `terms` (concept -> literal words, matched like skill
    aliases) and at least `min_mentions` in all, so one line of company boilerplate ("an AI
    company") is not enough.
    """

    terms: Mapping[str, tuple[str, ...]]
    titles: Mapping[str, tuple[str, ...]]  # role slug -> title regexes
    excludes: tuple[str, ...] = ()
    min_terms: int = 2
    min_mentions: int = 3
    # Regexes (case-insensitive) of sentences whose words never count: hiring boilerplate such
    # as "candidates may not use generative AI tools such as ChatGPT during interviews".
    sentence_vetoes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """All reference data normalization needs, as one immutable, versioned value."""

    version: str
    roles: Mapping[str, RoleInfo]  # slug -> info, in taxonomy (display) order
    role_rules: tuple[RoleRule, ...]  # in matching order
    seniority_rules: tuple[SeniorityRule, ...]  # in precedence order
    seniority_aliases: Mapping[str, Seniority]  # board seniority labels, lower-case
    skills: tuple[SkillInfo, ...]
    metros: tuple[MetroInfo, ...]
    non_metros: frozenset[str]  # lower-case place names that are no metro ("united states")
    companies: tuple[CompanyInfo, ...]
    company_suffixes: tuple[str, ...]  # legal forms stripped from names: ours, then cleanco's
    fx: FxTable
    non_ai_titles: tuple[str, ...] = ()  # title regexes that are never an AI role ("sales")
    description_evidence: DescriptionEvidence | None = None
    corporate_titles: CorporateTitles = field(default_factory=CorporateTitles)
