"""Role and seniority from a posting's title (and, for generic titles, its description).

Pure; compiled once from the taxonomy by `Normalizer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from rolepulse.domain.model import Seniority
from rolepulse.domain.skills import WordFinder, alias_key
from rolepulse.domain.taxonomy import (
    CorporateTitles,
    DescriptionEvidence,
    RoleRule,
    SeniorityRule,
)

_TITLE_CACHE = 8192
# The parts of a title: "Applied AI/ML Engineer Lead, Vice President", "Machine Learning
# Engineer - AVP". A hyphen between words ("AI-ML", "Co-op") joins, one between spaces splits.
_TITLE_PARTS = re.compile(r"\s*[,|/()\u2013\u2014:]\s*|\s+-\s+")
# "Sr. Manager" is the grade "senior manager", not "Sr." beside a grade.
_GRADE_WORDS = {"sr": "senior", "snr": "senior"}


class RoleMatcher:
    """Title -> role slug by the taxonomy's ordered rules; None for non-AI titles.

    A generic title ("Software Engineer", "Product Manager") says nothing about AI; for those
    alone the description may supply the evidence, when it is clearly about AI work.
    """

    def __init__(
        self,
        rules: Iterable[RoleRule],
        non_ai_titles: Iterable[str] = (),
        evidence: DescriptionEvidence | None = None,
    ) -> None:
        self._rules = [
            (rule.role, _any_of(rule.patterns), _any_of(rule.requires), _any_of(rule.excludes))
            for rule in rules
        ]
        self._non_ai = _any_of(non_ai_titles)
        self._evidence = _Evidence(evidence) if evidence is not None else None
        # Titles repeat heavily across postings ("Senior AI Engineer"); the answer is pure.
        self._by_title = lru_cache(maxsize=_TITLE_CACHE)(self._title_role)

    def match(self, title: str, description: str = "", company: str | None = None) -> str | None:
        """Role slug of a posting, or None when it is not an AI role.

        `company` (canonical name) marks the description's sentences about the company, whose
        AI ("Mistral AI builds frontier AI models") says nothing about this job.
        """
        role, generic = self._by_title(title)
        if role is None and generic is not None and self._evidence is not None:
            return generic if self._evidence.about_ai(description, company) else None
        return role

    def _title_role(self, title: str) -> tuple[str | None, str | None]:
        """(role from the title, role a generic title may take from its description)."""
        if self._non_ai is not None and self._non_ai.search(title):
            return None, None
        for role, patterns, requires, excludes in self._rules:
            if (
                patterns is not None
                and patterns.search(title)
                and (requires is None or requires.search(title))
                and (excludes is None or not excludes.search(title))
            ):
                return role, None
        return None, self._evidence.generic_role(title) if self._evidence is not None else None


class _Evidence:
    def __init__(self, evidence: DescriptionEvidence) -> None:
        self._concepts = {
            alias_key(word): concept for concept, words in evidence.terms.items() for word in words
        }
        self._terms = WordFinder(self._concepts)
        self._titles = [(role, _any_of(patterns)) for role, patterns in evidence.titles.items()]
        self._excludes = _any_of(evidence.excludes)
        self._min_terms = evidence.min_terms
        self._min_mentions = evidence.min_mentions
        self._vetoes = _any_of(evidence.sentence_vetoes)

    def generic_role(self, title: str) -> str | None:
        if self._excludes is not None and self._excludes.search(title):
            return None
        for role, pattern in self._titles:
            if pattern is not None and pattern.search(title):
                return role
        return None

    def about_ai(self, description: str, company: str | None = None) -> bool:
        low = description.lower()
        blurb = _company_lead(company)
        mentions = [
            self._concepts.get(alias_key(term))
            for start, term in self._terms.find(low)
            if not self._vetoed(_sentence(low, start), blurb)
        ]
        return len(mentions) >= self._min_mentions and len(set(mentions)) >= self._min_terms

    def _vetoed(self, sentence: str, blurb: re.Pattern[str] | None) -> bool:
        """A sentence about hiring ("candidates may not use generative AI tools such as
        ChatGPT during interviews") or about the company ("Mistral AI builds frontier AI
        models") says nothing about the work of the job."""
        if self._vetoes is not None and self._vetoes.search(sentence):
            return True
        return blurb is not None and blurb.match(sentence) is not None


class SeniorityMatcher:
    """Seniority from the title; the board's own label only when the title says nothing.

    Descriptions never set seniority: "work with senior engineers" says nothing about the role.
    A bank's or consulting firm's grade written as a part of its own beside a job title is that
    job's level (`CorporateTitles`), not the executive a "Vice President" elsewhere is.
    """

    def __init__(
        self,
        rules: Iterable[SeniorityRule],
        aliases: Mapping[str, Seniority],
        corporate: CorporateTitles | None = None,
    ) -> None:
        self._rules = [(rule.level, _any_of(rule.patterns)) for rule in rules]
        self._aliases = aliases
        self._corporate = corporate or CorporateTitles()
        self._individual = _any_of(self._corporate.individual_titles)
        self._longest_grade = max((len(g.split()) for g in self._corporate.grades), default=0)
        self._from_text = lru_cache(maxsize=_TITLE_CACHE)(self._levels)
        self._from_title = lru_cache(maxsize=_TITLE_CACHE)(self._title_level)

    def of(self, title: str, label: str | None) -> Seniority:
        level = self._from_title(title)
        if level is None and label:
            key = " ".join(label.lower().replace("-", " ").replace("_", " ").split())
            level = self._aliases.get(key) or self._from_text(label)
        return level or Seniority.MID

    def _title_level(self, title: str) -> Seniority | None:
        graded = self._graded(title)
        return graded if graded is not None else self._levels(title)

    def _graded(self, title: str) -> Seniority | None:
        """The level a corporate grade gives, when the title is written as grade + job."""
        if not self._corporate.grades:
            return None
        parts = [p for p in _TITLE_PARTS.split(title) if p.strip()]
        for index, part in enumerate(parts):
            words = [_GRADE_WORDS.get(w.lower().rstrip("."), w) for w in part.split()]
            # The grade is the whole part ("Vice President") or ends it ("Applied AI ML
            # Associate"); one that starts it ("Associate Data Scientist") is a level word.
            for size in range(min(self._longest_grade, len(words)), 0, -1):
                key = " ".join(words[-size:]).lower()
                grade = self._corporate.grades.get(key)
                if grade is None or (size < len(words) and key in self._corporate.leaders):
                    continue
                rest = " ".join([*parts[:index], " ".join(words[:-size]), *parts[index + 1 :]])
                stated = self._levels(rest)
                if stated is not None:
                    return stated  # "Applied AI/ML Engineer Lead, Vice President": lead
                if self._individual is not None and self._individual.search(rest):
                    return grade
                if key in self._corporate.leaders:
                    return Seniority.EXECUTIVE  # "Vice President, Applied AI Engineering"
                return None
        return None

    def _levels(self, text: str) -> Seniority | None:
        for level, pattern in self._rules:
            if pattern is not None and pattern.search(text):
                return level
        return None


_SENTENCE_END = ".!?\n"


def _sentence(text: str, at: int) -> str:
    """The sentence (or line) of `text` around position `at`, without its leading spaces."""
    start = max(text.rfind(mark, 0, at) for mark in _SENTENCE_END) + 1
    ends = [i for mark in _SENTENCE_END if (i := text.find(mark, at)) >= 0]
    return text[start : min(ends) if ends else len(text)].lstrip(" \t*-•")


@lru_cache(maxsize=_TITLE_CACHE)
def _company_lead(company: str | None) -> re.Pattern[str] | None:
    """Sentences that start with the company's name ("About Acme", "At Acme, ...")."""
    if not company or len(company) < 3:
        return None
    return re.compile(rf"(?:about |at |join )?{re.escape(company.lower())}\b")


def _any_of(patterns: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = [f"(?:{pattern})" for pattern in patterns]
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
