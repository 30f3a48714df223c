"""Which open postings a figure is computed over: the domain side of GraphQL's `PostingFilter`.

A filter is a conjunction of optional dimensions; an absent dimension does not restrict. Names
arrive already canonical (the API resolves what a client typed, `resolve_names`), so matching a
posting is plain set membership: the same rule the rollups, the drill-down and any recomputation
from postings use, which is what makes their answers agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from rolepulse.domain.model import NormalizedPosting, Seniority, WorkMode

MAX_POSTED_WITHIN_DAYS = 3650


@dataclass(frozen=True, slots=True)
class PostingFilter:
    """None in a dimension: any value. Sets hold canonical names / enum members.

    `skills` is "mentions all of them"; every other set is "any of them". `posted_within_days`
    keeps postings first seen within that many days before the stream clock.
    """

    metros: frozenset[str] | None = None
    seniorities: frozenset[Seniority] | None = None
    work_modes: frozenset[WorkMode] | None = None
    companies: frozenset[str] | None = None
    skills: frozenset[str] | None = None
    posted_within_days: int | None = None

    @property
    def is_empty(self) -> bool:
        """True when nothing is restricted: the whole-role figures of the unfiltered API."""
        return self == NO_FILTER

    def dimensions(self) -> frozenset[str]:
        """Names of the restricted dimensions, e.g. {"metros", "seniorities"}."""
        return frozenset(
            name
            for name in (
                "metros",
                "seniorities",
                "work_modes",
                "companies",
                "skills",
                "posted_within_days",
            )
            if getattr(self, name) is not None
        )

    def matches(
        self, posting: NormalizedPosting, first_seen_at: datetime, now: datetime | None
    ) -> bool:
        """Whether `posting` (first seen at `first_seen_at`) is inside the filter at `now`.

        `now` is the stream clock; it is only read when `posted_within_days` is set, and a
        filter on age with no clock yet (an empty store) matches nothing.
        """
        if self.metros is not None and posting.metro not in self.metros:
            return False
        if self.seniorities is not None and posting.seniority not in self.seniorities:
            return False
        if self.work_modes is not None and posting.work_mode not in self.work_modes:
            return False
        if self.companies is not None and posting.company not in self.companies:
            return False
        if self.skills is not None and not self.skills <= set(posting.skills):
            return False
        if self.posted_within_days is not None:
            if now is None:
                return False
            return first_seen_at >= now - timedelta(days=self.posted_within_days)
        return True


NO_FILTER = PostingFilter()


def slugify(name: str) -> str:
    """ "San Francisco" -> "san-francisco", "Scale AI" -> "scale-ai": the URL form of a name."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def name_index(canonical: Iterable[str]) -> dict[str, str]:
    """Lookup from what a client may type (any case, or the slug) to the canonical name."""
    index: dict[str, str] = {}
    for name in canonical:
        index.setdefault(name.casefold(), name)
        index.setdefault(slugify(name), name)
    return index


def resolve_names(
    typed: Iterable[str], index: Mapping[str, str]
) -> tuple[frozenset[str], list[str]]:
    """(canonical names found, inputs that name nothing) for a filter dimension's values.

    An unknown name is reported, not dropped: a filter that silently ignored a misspelt metro
    would answer for every metro.
    """
    found: set[str] = set()
    unknown: list[str] = []
    for value in typed:
        name = index.get(value.strip().casefold()) or index.get(slugify(value))
        if name is None:
            unknown.append(value)
        else:
            found.add(name)
    return frozenset(found), unknown
