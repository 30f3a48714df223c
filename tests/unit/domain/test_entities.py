"""Metros and companies as entities (rolepulse/domain/entities.py): rankings, keyset pages,
per-role figure sets from postings, company names, company pay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.entities import (
    AveragePay,
    Position,
    average_pay,
    company_name,
    figures_by_role,
    page_after,
    ranked,
    summed,
)
from rolepulse.domain.filters import PostingFilter
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import (
    NormalizedPosting,
    NormalizedSalary,
    SalaryBasis,
    Seniority,
    WorkMode,
)
from rolepulse.domain.rollups import figures_of_postings

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def state(
    key: str,
    role: str | None,
    *,
    metro: str | None = "Boston",
    company: str = "Acme",
    open: bool = True,
    days_old: int = 1,
    pay: tuple[int, int] | None = None,
) -> PostingState:
    salary = None
    if pay is not None:
        salary = NormalizedSalary(pay[0], pay[1], "USD", "year", pay[0], pay[1], "structured")
    posting = NormalizedPosting(
        posting_key=key,
        source="lever",
        source_id=key,
        title="AI Engineer",
        role=role,
        seniority=Seniority.MID,
        skills=("Python",),
        company=company,
        metro=metro,
        work_mode=WorkMode.ONSITE,
        salary=salary,
    )
    seen = NOW - timedelta(days=days_old)
    return PostingState(key, posting, open, seen, f"e-{key}", seen, seen)


def test_figure_sets_and_counter_maps_add_up() -> None:
    a = {"open": 2, "metros": {"Boston": 2}, "salary": {"n": 1, "sum_mid": 100}}
    b = {"open": 1, "metros": {"Boston": 1, "New York": 1}}
    assert summed([a, None, {}, b]) == {
        "open": 3,
        "metros": {"Boston": 3, "New York": 1},
        "salary": {"n": 1, "sum_mid": 100},
    }
    assert summed([]) == {}
    assert a == {"open": 2, "metros": {"Boston": 2}, "salary": {"n": 1, "sum_mid": 100}}


def test_a_ranking_is_most_first_ties_by_name_without_zeros_and_names_decoded() -> None:
    counts = {"Boston": 3, "Acme%2Eio": 3, "Zed": 5, "Gone": 0, "Austin": 1}
    assert ranked(counts) == [("Zed", 5), ("Acme.io", 3), ("Boston", 3), ("Austin", 1)]
    assert ranked(None) == []


RANKING = [("Zed", 5), ("Acme", 3), ("Boston", 3), ("Austin", 1)]


@pytest.mark.parametrize(
    ("after", "first", "expected"),
    [
        (None, 2, RANKING[:3]),  # one more than a page: another page follows
        (Position(5, "Zed"), 2, RANKING[1:4]),
        (Position(3, "Acme"), 5, RANKING[2:]),
        (Position(3, "Boston"), 1, RANKING[3:]),
        (Position(1, "Austin"), 3, []),
        # A position no entry holds (its entry moved or went): the entries ranked after it.
        (Position(4, "Q"), 2, RANKING[1:4]),
        (Position(3, "B"), 2, RANKING[2:]),
        (Position(0, ""), 2, []),
    ],
)
def test_a_page_starts_strictly_after_its_position(
    after: Position | None, first: int, expected: list[tuple[str, int]]
) -> None:
    assert page_after(RANKING, after, first) == expected


names = st.text(alphabet="abcXYZ .", min_size=1, max_size=4)


@given(st.dictionaries(names, st.integers(0, 6), max_size=25), st.integers(1, 5))
def test_paging_through_lists_every_entry_once_in_order(counts: dict[str, int], first: int) -> None:
    ranking = ranked(counts)
    # The oracle: a plain sort of the positive counts.
    assert ranking == sorted(
        ((k, v) for k, v in counts.items() if v > 0), key=lambda e: (-e[1], e[0])
    )
    listed: list[tuple[str, int]] = []
    after = None
    while True:
        window = page_after(ranking, after, first)
        page = window[:first]
        listed += page
        if len(window) <= first:
            break
        after = Position(page[-1][1], page[-1][0])
    assert listed == ranking


def test_figures_by_role_group_the_open_postings_the_filter_selects() -> None:
    states = [
        state("a", "llm-engineer", pay=(100_000, 150_000)),
        state("b", "llm-engineer", metro="New York"),
        state("c", "data-scientist"),
        state("d", None),  # not an AI role
        state("e", "data-scientist", open=False),
        state("f", "unknown-role"),  # outside the taxonomy asked for
        state("g", "data-scientist", days_old=30),
    ]
    roles = {"llm-engineer", "data-scientist"}
    boston = PostingFilter(metros=frozenset({"Boston"}))
    by_role = figures_by_role(states, roles, boston, NOW)
    assert by_role == {
        "llm-engineer": figures_of_postings([states[0]]),
        "data-scientist": figures_of_postings([states[2], states[6]]),
    }
    recent = PostingFilter(posted_within_days=7)
    assert set(figures_by_role(states, roles, recent, NOW)) == {"llm-engineer", "data-scientist"}
    assert figures_by_role(states, roles, recent, NOW)["data-scientist"]["open"] == 1
    assert figures_by_role(states, roles, recent, None) == {}  # no clock: nothing is recent
    assert figures_by_role([], roles, boston, NOW) == {}


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Scale AI", "Scale AI"),  # exactly
        ("  scale ai ", "Scale AI"),  # any case, spaces around
        ("scale-ai", "Scale AI"),  # by slug
        ("Acme.io", "Acme.io"),  # exact beats case: "ACME.IO" is another employer
        ("ACME.IO", "ACME.IO"),
        ("acme.io", "ACME.IO"),  # by case, both match: the one with more open postings
        ("acme-io", "ACME.IO"),  # by slug: every "Acme io" spelling, most postings first
        ("Globex", None),
        ("", None),
    ],
)
def test_a_company_is_found_exactly_then_by_case_then_by_slug(
    typed: str, expected: str | None
) -> None:
    counts = {"Scale AI": 4, "Acme%2Eio": 1, "ACME%2EIO": 3, "Acme io": 2, "Gone": 0}
    assert company_name(typed, counts) == expected


def test_a_companys_pay_is_its_means_on_the_basis() -> None:
    pay = {"Acme%2Eio": {"n": 2, "sum_min": 200, "sum_max": 400, "sum_mid": 300}}
    assert average_pay(pay, "Acme.io", SalaryBasis.MAX) == AveragePay(
        SalaryBasis.MAX, 2, 100.0, 200.0, 200.0
    )
    assert average_pay(pay, "Acme.io", SalaryBasis.MIDPOINT).average == 150.0
    for missing in (None, {}, {"Acme%2Eio": {"n": 0}}):
        assert average_pay(missing, "Acme.io", SalaryBasis.MIN) == AveragePay(
            SalaryBasis.MIN, 0, None, None, None
        )
