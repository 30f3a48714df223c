"""Page URLs: role pairs around "-vs-", levels, the salary basis parameter."""

from __future__ import annotations

import pytest

from rolepulse.domain.model import Seniority
from rolepulse.services.pages.slugs import (
    DEFAULT_BASIS,
    Basis,
    pair_slug,
    pairs,
    parse_basis,
    parse_level,
    parse_pair,
)

ROLES = ["ai-software-engineer", "ai-product-manager", "llm-engineer", "data-scientist"]


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        ("ai-software-engineer-vs-ai-product-manager",
         ("ai-software-engineer", "ai-product-manager")),
        ("ai-product-manager-vs-ai-software-engineer",
         ("ai-product-manager", "ai-software-engineer")),
        ("llm-engineer-vs-data-scientist", ("llm-engineer", "data-scientist")),
        ("llm-engineer-vs-llm-engineer", ("llm-engineer", "llm-engineer")),
        ("llm-engineer-vs-", None),
        ("-vs-llm-engineer", None),
        ("llm-engineer-vs-nobody", None),
        ("llm-engineer", None),
        ("llm-engineer-versus-data-scientist", None),
        ("LLM-Engineer-vs-Data-Scientist", None),  # slugs are lower case, as links write them
    ],
)  # fmt: skip
def test_parse_pair(slug: str, expected: tuple[str, str] | None) -> None:
    assert parse_pair(slug, ROLES) == expected


def test_a_role_slug_may_itself_contain_the_separator() -> None:
    # Every split point is tried, not only the first "-vs-".
    roles = ["man-vs-machine", "machine", "man"]
    assert parse_pair("man-vs-machine-vs-man", roles) == ("man-vs-machine", "man")
    assert parse_pair("man-vs-man-vs-machine", roles) == ("man", "man-vs-machine")


def test_pair_slug_round_trips_and_pairs_are_each_unordered_pair_once() -> None:
    listed = list(pairs(ROLES))
    assert len(listed) == len(ROLES) * (len(ROLES) - 1) // 2
    assert listed[0] == ("ai-software-engineer", "ai-product-manager")  # the seed page's order
    for a, b in listed:
        assert parse_pair(pair_slug(a, b), ROLES) == (a, b)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, DEFAULT_BASIS), ("", DEFAULT_BASIS), ("max", Basis.MAX), ("MIN", Basis.MIN),
     ("midpoint", Basis.MIDPOINT), ("mid", None), ("average", None)],
)  # fmt: skip
def test_parse_basis(raw: str | None, expected: Basis | None) -> None:
    assert parse_basis(raw) is expected


def test_basis_names_its_graphql_value_and_the_apis_own_label() -> None:
    assert DEFAULT_BASIS is Basis.MAX  # the seed page's figures are on the top of each range
    assert [b.graphql for b in Basis] == ["MAX", "MIDPOINT", "MIN"]
    assert Basis.MAX.label == "max of range"


def test_parse_level() -> None:
    assert parse_level("senior") is Seniority.SENIOR
    assert parse_level("SENIOR") is None
    assert parse_level("staff") is None
