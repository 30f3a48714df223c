"""Skill matching: canonical skills found on word boundaries in a posting's title and text.

Pure; compiled once from the taxonomy's skills by `Normalizer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rolepulse.domain.taxonomy import SkillInfo

# Skills never match inside a word; '+' and '#' count as word characters so "C++" and "C#" stay
# whole, and a '.' followed by a letter continues a name ("Node.js", not "Node").
_SKILL_BEFORE = r"(?<![\w+#])"
_SKILL_AFTER = r"(?![\w+#]|\.\w)"
_NEEDLE = re.compile(r"[A-Za-z0-9]{2,}")
# A veto phrase ("customer support agents") is looked for this far around a pattern's literal.
_VETO_BEFORE = 40
_VETO_AFTER = 8


class SkillMatcher:
    """Canonical skills in title + description, deduplicated, in first-seen order.

    Literal aliases compile into one regex, a character trie run case-sensitively over the
    lower-cased text: an IGNORECASE alternation of a few hundred aliases measured ~4x slower.
    The few case-sensitive patterns ("Go" in a language context) run only where their leading
    literal occurs, found with `str.find`, instead of being tried at every position.
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
        self._literals = word_trie(self._by_alias)
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

    def find(self, title: str, description: str) -> tuple[str, ...]:
        found: dict[str, None] = {}
        by_alias = self._by_alias
        for text in (title, description):
            spans: list[tuple[int, int]] = []
            named: list[tuple[int, str | None]] = []
            for match in self._literals.finditer(text.lower()):
                alias = match.group()
                # Most hits are already in key form; only "fine  tuning" needs folding.
                named.append((match.start(), by_alias.get(alias) or by_alias.get(alias_key(alias))))
                spans.append(match.span())
            # A pattern never re-reads text an alias matched ("ML" inside "ML Ops").
            extra = [
                (pos, name)
                for pos, name in self._pattern_hits(text)
                if not any(start <= pos < end for start, end in spans)
            ]
            if extra:
                named = sorted(named + extra, key=lambda hit: hit[0])
            for _, name in named:
                if name is not None:
                    found.setdefault(name, None)
        return tuple(found)

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


def word_trie(words: Iterable[str]) -> re.Pattern[str]:
    """One regex matching any of `words` (lower-case) as whole words, to run on lower-cased text.

    Compiled as a character trie: an alternation of a few hundred words measured ~4x slower.
    """
    return re.compile(f"{_SKILL_BEFORE}(?:{_trie_regex(words)}){_SKILL_AFTER}")


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
