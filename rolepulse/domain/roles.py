"""Role and seniority from a posting's title (and, for generic titles, its description).

Pure; compiled once from the taxonomy by `Normalizer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from rolepulse.domain.model import Seniority
from rolepulse.domain.skills import alias_key, word_trie
from rolepulse.domain.taxonomy import DescriptionEvidence, RoleRule, SeniorityRule

_TITLE_CACHE = 8192


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

    def match(self, title: str, description: str = "") -> str | None:
        """Role slug of a posting, or None when it is not an AI role."""
        role, generic = self._by_title(title)
        if role is None and generic is not None and self._evidence is not None:
            return generic if self._evidence.about_ai(description) else None
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
        self._terms = word_trie(self._concepts)
        self._titles = [(role, _any_of(patterns)) for role, patterns in evidence.titles.items()]
        self._excludes = _any_of(evidence.excludes)
        self._min_terms = evidence.min_terms
        self._min_mentions = evidence.min_mentions

    def generic_role(self, title: str) -> str | None:
        if self._excludes is not None and self._excludes.search(title):
            return None
        for role, pattern in self._titles:
            if pattern is not None and pattern.search(title):
                return role
        return None

    def about_ai(self, description: str) -> bool:
        mentions = [
            self._concepts.get(alias_key(match.group()))
            for match in self._terms.finditer(description.lower())
        ]
        return len(mentions) >= self._min_mentions and len(set(mentions)) >= self._min_terms


class SeniorityMatcher:
    """Seniority from the title; the board's own label only when the title says nothing.

    Descriptions never set seniority: "work with senior engineers" says nothing about the role.
    """

    def __init__(self, rules: Iterable[SeniorityRule], aliases: Mapping[str, Seniority]) -> None:
        self._rules = [(rule.level, _any_of(rule.patterns)) for rule in rules]
        self._aliases = aliases
        self._from_text = lru_cache(maxsize=_TITLE_CACHE)(self._levels)

    def of(self, title: str, label: str | None) -> Seniority:
        level = self._from_text(title)
        if level is None and label:
            key = " ".join(label.lower().replace("-", " ").replace("_", " ").split())
            level = self._aliases.get(key) or self._from_text(label)
        return level or Seniority.MID

    def _levels(self, text: str) -> Seniority | None:
        for level, pattern in self._rules:
            if pattern is not None and pattern.search(text):
                return level
        return None


def _any_of(patterns: Iterable[str]) -> re.Pattern[str] | None:
    alternatives = [f"(?:{pattern})" for pattern in patterns]
    return re.compile("|".join(alternatives), re.IGNORECASE) if alternatives else None
