"""Skill matching: canonical skills found on word boundaries in a posting's title and text.

Pure; compiled once from the taxonomy's skills by `Normalizer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from rolepulse.domain.taxonomy import SkillInfo

# Skills never match inside a word; '+' and '#' count as word characters so "C++" and "C#" stay
# whole, and a '.' followed by a letter continues a name ("Node.js", not "Node").
_SKILL_BEFORE = r"(?<![\w+#])"
_SKILL_AFTER = r"(?![\w+#]|\.\w)"
# The same "before" for ASCII text, as a character to match rather than a lookbehind.
_ASCII_BEFORE = r"[^A-Za-z0-9_+#]"
_BOUNDARY = re.compile(_ASCII_BEFORE)
_DOT_WORD = re.compile(r"\.\w")
_NEEDLE = re.compile(r"[A-Za-z0-9]{2,}")
# A veto phrase ("customer support agents") is looked for this far around a pattern's literal.
_VETO_BEFORE = 40
_VETO_AFTER = 8
# Titles repeat heavily across postings ("Senior AI Engineer"); their skills are pure.
_TITLE_CACHE = 8192
Hit = tuple[int, str]  # (start, matched text)


class SkillMatcher:
    """Canonical skills in title + description, deduplicated, in first-seen order.

    Literal aliases compile into one `WordFinder` run over the lower-cased text. The few
    case-sensitive patterns ("Go" in a language context) run only where their leading literal
    occurs, found with `str.find`, instead of being tried at every position.
    """

    def __init__(self, skills: Iterable[SkillInfo]) -> None:
        self._by_alias: dict[str, str] = {}
        grouped: dict[tuple[str, str], list[str]] = {}
        skills_seen = list(skills)
        for skill in skills_seen:
            for alias in skill.aliases:
                self._by_alias.setdefault(alias_key(alias), skill.name)
            for pattern in skill.patterns:
                needle = _NEEDLE.match(pattern)
                if needle is None:
                    raise ValueError(f"skill pattern {pattern!r} must start with a literal")
                grouped.setdefault((needle.group(), skill.name), []).append(pattern)
        self._literals = WordFinder(self._by_alias)
        vetoes = {
            skill.name: re.compile("|".join(skill.pattern_vetoes), re.IGNORECASE)
            for skill in skills_seen
            if skill.pattern_vetoes
        }
        self._patterns = [
            (
                needle,
                name,
                re.compile("(?:" + "|".join(patterns) + ")" + _SKILL_AFTER),
                vetoes.get(name),
            )
            for (needle, name), patterns in grouped.items()
        ]
        self._in_title = lru_cache(maxsize=_TITLE_CACHE)(self._in_text)

    def find(self, title: str, description: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self._in_title(title) + self._in_text(description)))

    def _in_text(self, text: str) -> tuple[str, ...]:
        """Skill names in the order the text names them, repeats included."""
        by_alias = self._by_alias
        low = text.lower()
        extra = self._pattern_hits(text)
        if not extra:  # the literals' own order: their positions are not needed
            words = self._literals.words(low)
            names = [by_alias.get(word) or by_alias.get(alias_key(word)) for word in words]
            return tuple(name for name in names if name is not None)
        literals = self._literals.find(low)
        # Most hits are already in key form; only "fine  tuning" needs folding.
        named = [
            (pos, by_alias.get(alias) or by_alias.get(alias_key(alias))) for pos, alias in literals
        ]
        # A pattern never re-reads text an alias matched ("ML" inside "ML Ops").
        spans = [(pos, pos + len(alias)) for pos, alias in literals]
        extra = [hit for hit in extra if not any(start <= hit[0] < end for start, end in spans)]
        named = sorted(named + extra, key=lambda hit: hit[0])
        return tuple(name for _, name in named if name is not None)

    def _pattern_hits(self, text: str) -> list[tuple[int, str | None]]:
        hits: list[tuple[int, str | None]] = []
        for needle, name, pattern, veto in self._patterns:
            pos = text.find(needle)
            found: list[tuple[int, str | None]] = []
            vetoed = False
            while pos >= 0:
                if _word_start(text, pos) and pattern.match(text, pos):
                    found.append((pos, name))
                # Vetoes are read only around the literal: a whole-text search cost ~14 µs.
                if veto is not None and not vetoed:
                    start, end = max(0, pos - _VETO_BEFORE), pos + len(needle) + _VETO_AFTER
                    vetoed = veto.search(text, start, end) is not None
                pos = text.find(needle, pos + 1)
            if found and not vetoed:
                hits += found
        return hits


def _word_start(text: str, pos: int) -> bool:
    return pos == 0 or not (text[pos - 1].isalnum() or text[pos - 1] in "_+#")


class WordFinder:
    """Whole-word occurrences of lower-case `words` in lower-cased text: left to right, the
    longest word at each place, never overlapping, as one `finditer` of `_anywhere` finds them.

    The words compile into one character trie: an alternation of a few hundred words measured
    ~4x slower. ASCII text (most postings) is scanned from the characters that may precede a
    word instead: a pattern that starts with a character class lets `re` skip to those in C,
    where the lookbehind that starts `_anywhere` made it enter the trie at every position
    (~1.4x the time). Other text takes `_anywhere`, whose `\\w` knows every script.
    """

    def __init__(self, words: Iterable[str]) -> None:
        words = list(words)
        body = _trie_regex(words)
        self._anywhere = re.compile(f"{_SKILL_BEFORE}(?:{body}){_SKILL_AFTER}")
        # The ASCII scan consumes the character before a word, so after a word that ends on a
        # boundary ("f*") it would miss a word right behind it, one that itself starts on a
        # boundary (".x" cannot: the first word may not end before "." and a letter).
        open_end = any(_BOUNDARY.match(word[-1:]) for word in words)
        open_start = any(_BOUNDARY.match(word) and not _DOT_WORD.match(word) for word in words)
        self._ascii = (
            None
            if (open_end and open_start) or not all(words)  # an empty word matches anywhere
            else re.compile(f"{_ASCII_BEFORE}((?:{body})){_SKILL_AFTER}")
        )

    def words(self, low: str) -> list[str]:
        """The matched text of every word found in `low`, in order."""
        if self._ascii is not None and low.isascii():
            return self._ascii.findall(" " + low)
        return self._anywhere.findall(low)

    def find(self, low: str) -> list[Hit]:
        """(start, matched text) of every word found in `low`."""
        if self._ascii is not None and low.isascii():
            # One ahead for the padding, which precedes a word at the very start.
            return [(match.start(), match[1]) for match in self._ascii.finditer(" " + low)]
        return [(match.start(), match.group()) for match in self._anywhere.finditer(low)]


def alias_key(text: str) -> str:
    # Aliases and matched text compare lower-case with runs of spaces/hyphens read as one space.
    return " ".join(text.lower().replace("-", " ").split())


_Trie = dict[str, "_Trie"]


def _trie_regex(words: Iterable[str]) -> str:
    trie: _Trie = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # end of a word
    return _trie_node(trie)


def _trie_node(node: _Trie) -> str:
    branches = [_trie_char(char) + _trie_node(child) for char, child in node.items() if char]
    if not branches:
        return ""
    body = "(?:" + "|".join(branches) + ")" if len(branches) > 1 else branches[0]
    # Greedy optional: the longest alias is tried first, a shorter one on backtracking.
    return f"(?:{body})?" if "" in node else body


def _trie_char(char: str) -> str:
    return r"[\s-]" if char == " " else re.escape(char)
