"""Page URLs and the names in them: role pairs, seniority levels, salary bases. Pure functions."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from enum import StrEnum
from itertools import combinations

from rolepulse.domain.compare import BASIS_LABELS
from rolepulse.domain.model import SalaryBasis, Seniority

PAIR_SEPARATOR = "-vs-"


class Basis(StrEnum):
    """The salary basis a page shows, as the `basis` query parameter spells it."""

    MAX = "max"
    MIDPOINT = "midpoint"
    MIN = "min"

    @property
    def graphql(self) -> str:
        return self.name  # the GraphQL SalaryBasis value

    @property
    def label(self) -> str:
        """As the API's own sentences name it ("max of range")."""
        return BASIS_LABELS[SalaryBasis[self.name]]


# The seed page computes every salary figure on the top of each posting's range: our pages
# open on the same basis, so its figures read the same here; the others are a link away.
DEFAULT_BASIS = Basis.MAX


def parse_pair(slug: str, roles: Collection[str]) -> tuple[str, str] | None:
    """`"ai-software-engineer-vs-ai-product-manager"` -> the two role slugs, or None.

    Role slugs contain hyphens (and could contain "-vs-"), so the text is split at each
    occurrence of the separator in turn and the first split with a known role on both sides wins.
    """
    start = 0
    while (at := slug.find(PAIR_SEPARATOR, start)) >= 0:
        a, b = slug[:at], slug[at + len(PAIR_SEPARATOR) :]
        if a in roles and b in roles:
            return a, b
        start = at + 1
    return None


def pair_slug(a: str, b: str) -> str:
    return f"{a}{PAIR_SEPARATOR}{b}"


def pairs(roles: Sequence[str]) -> Iterator[tuple[str, str]]:
    """Every unordered pair once, in taxonomy order (the order of the seed page's title)."""
    return combinations(roles, 2)


def parse_level(slug: str) -> Seniority | None:
    try:
        return Seniority(slug)
    except ValueError:
        return None


def parse_basis(raw: str | None) -> Basis | None:
    """The `basis` query parameter (any case; missing: the default), or None if it names none."""
    if raw is None or raw == "":
        return DEFAULT_BASIS
    try:
        return Basis(raw.lower())
    except ValueError:
        return None


LEVEL_TITLES = {
    Seniority.ENTRY: "Entry level",
    Seniority.MID: "Mid level",
    Seniority.SENIOR: "Senior",
    Seniority.LEAD: "Lead",
    Seniority.EXECUTIVE: "Executive",
}


def levels() -> Iterable[Seniority]:
    return iter(Seniority)
