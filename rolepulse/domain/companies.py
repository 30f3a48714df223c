"""Canonical company names: the name a company's figures are keyed by, whatever the board wrote.

Pure; compiled once from the taxonomy by `Normalizer`. The legal forms come from the taxonomy
(ours in companies.json, then cleanco's for ~60 countries, merged where the taxonomy is loaded).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from rolepulse.domain.taxonomy import CompanyInfo

# Boards repeat a small set of employers; the answer is pure.
_COMPANY_CACHE = 8192
# A name's words: "Acme Robotics,  Inc." -> "Acme", "Robotics", "Inc."; commas never belong to one.
_WORD = re.compile(r"[^\s,]+")
# Words that join two names ("Johnson & Johnson"); left dangling by a stripped form
# ("Goldman Sachs & Co." without "Co."), they go too, as does a lone dash ("Acme - Inc.").
_CONNECTORS = frozenset({"and"})


def legal_form_key(text: str) -> tuple[str, ...]:
    """How a legal form compares: its words case-folded, accents and dots dropped.

    "S.A.", "SA" and "s.a." are one form, as are "GmbH" and "GMBH", "Pvt. Ltd." and "Pvt Ltd";
    cleanco compares its terms the same way.
    """
    return tuple(word for word in (_word_key(w) for w in _WORD.findall(text)) if word)


class CompanyNames:
    """Aliases, then legal forms stripped from the end of the name, then aliases again.

    Rules: forms go from the end only, longest first and repeatedly ("Acme Holdings Co., Ltd."
    -> "Acme Holdings"); never the whole name (a company called "Company" or "AB" stays as
    it is); a connector left at the end goes with the form ("Goldman Sachs & Co." -> "Goldman
    Sachs") while one inside stays ("Procter & Gamble Co." -> "Procter & Gamble"); the rest is
    kept as written, case and accents included ("Société Générale S.A." -> "Société Générale").
    """

    def __init__(self, companies: Iterable[CompanyInfo], legal_forms: Iterable[str]) -> None:
        self._aliases = {alias: c.name for c in companies for alias in c.aliases}
        self._forms = frozenset(key for key in map(legal_form_key, legal_forms) if key)
        self._longest = max((len(form) for form in self._forms), default=0)
        self._cached = lru_cache(maxsize=_COMPANY_CACHE)(self._canonical)

    def canonical(self, name: str) -> str:
        """The canonical name of the company a board calls `name` (a non-empty, trimmed name)."""
        return self._cached(name)

    def _canonical(self, name: str) -> str:
        known = self._aliases.get(name.lower())
        if known is not None:
            return known
        words = list(_WORD.finditer(name))
        keys = [_word_key(word.group()) for word in words]
        end, stripped = len(words), name
        while (cut := self._without_form(keys, end)) < end:
            end, stripped = cut, name[: words[cut - 1].end()]
            # After each form: "Accenture Federal Services LLC" is the alias without "LLC".
            known = self._aliases.get(stripped.lower())
            if known is not None:
                return known
        if not any(ch.isalnum() for ch in stripped):
            return name  # "& Co." is all form: nothing is left to be the name
        return stripped

    def _without_form(self, keys: list[str], end: int) -> int:
        """How many of the first `end` words remain without the form they end with (>= 1)."""
        for size in range(min(self._longest, end - 1), 0, -1):
            if tuple(keys[end - size : end]) in self._forms:
                end -= size
                return end - 1 if end > 1 and _dangles(keys[end - 1]) else end
        return end


def _dangles(key: str) -> bool:
    return key in _CONNECTORS or not any(ch.isalnum() for ch in key)


def _word_key(word: str) -> str:
    folded = unicodedata.normalize("NFKD", word.casefold())
    return "".join(ch for ch in folded if ch != "." and not unicodedata.combining(ch))
