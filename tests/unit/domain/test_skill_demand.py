"""Skill demand and pay without a skill (rolepulse/domain/skill_demand.py): demand per role, and
that a role's figure set minus its skill rollup is exactly the figure set of its other postings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import NormalizedPosting, NormalizedSalary, Seniority, WorkMode
from rolepulse.domain.rollups import figures_of_postings, prune
from rolepulse.domain.skill_demand import demand_by_role, premium_pct, subtract

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
ORDER = ["llm-engineer", "data-scientist", "nlp-engineer", "prompt-engineer"]


def test_demand_lists_only_roles_mentioning_the_skill_most_first_ties_in_taxonomy_order() -> None:
    docs = {
        "llm-engineer": {"open": 10, "skills": {"Node%2Ejs": 3, "Python": 9}},
        "data-scientist": {"open": 8, "skills": {"Node%2Ejs": 5}},
        "nlp-engineer": {"open": 4, "skills": {"Node%2Ejs": 3}},
        "prompt-engineer": {"open": 2, "skills": {"Node%2Ejs": 0, "Python": 2}},
    }
    demand = demand_by_role(docs, "Node.js", ORDER)  # names are stored encoded
    assert [(d.role, d.count, d.role_open) for d in demand] == [
        ("data-scientist", 5, 8),
        ("llm-engineer", 3, 10),
        ("nlp-engineer", 3, 4),
    ]
    assert demand_by_role(docs, "Rust", ORDER) == []
    assert demand_by_role({}, "Python", ORDER) == []


def test_subtract_drops_zero_and_negative_counters_and_empty_maps() -> None:
    total = {"open": 5, "salary": {"n": 2, "hist_mid": {"100": 1, "200": 1}}, "tag": "x"}
    part = {"open": 5, "salary": {"n": 1, "hist_mid": {"100": 2}}, "extra": 3}
    # 100 -> 1 - 2 < 0: only a read across two data versions could give it; never shown.
    assert subtract(total, part) == {"salary": {"n": 1, "hist_mid": {"200": 1}}}
    assert subtract(total, {}) == {"open": 5, "salary": {"n": 2, "hist_mid": {"100": 1, "200": 1}}}


def posting(i: int, skills: tuple[str, ...], pay: tuple[int, int] | None) -> PostingState:
    salary = None
    if pay is not None:
        low, high = sorted(pay)
        salary = NormalizedSalary(low, high, "USD", "year", low, high, "structured")
    p = NormalizedPosting(
        posting_key=f"greenhouse:{i}",
        source="greenhouse",
        source_id=str(i),
        title="LLM Engineer",
        role="llm-engineer",
        seniority=list(Seniority)[i % 5],
        skills=skills,
        company=("Acme", "Globex", None)[i % 3],
        metro=("New York", None)[i % 2],
        work_mode=list(WorkMode)[i % 4],
        salary=salary,
    )
    return PostingState(p.posting_key, p, True, T0, f"e{i}", T0)


def mentions(state: PostingState, skill: str) -> bool:
    return state.posting is not None and skill in state.posting.skills


POSTINGS = st.lists(
    st.tuples(
        st.sets(st.sampled_from(("Python", "AWS", "RAG")), max_size=3),
        st.none() | st.tuples(st.integers(10_000, 900_000), st.integers(10_000, 900_000)),
    ),
    max_size=25,
)


@given(POSTINGS)
def test_role_minus_skill_rollup_is_exactly_the_postings_without_the_skill(
    drawn: list[tuple[set[str], tuple[int, int] | None]],
) -> None:
    states = [posting(i, tuple(sorted(s)), pay) for i, (s, pay) in enumerate(drawn)]
    role = figures_of_postings(states)
    with_python = figures_of_postings(s for s in states if mentions(s, "Python"))
    without = figures_of_postings(s for s in states if not mentions(s, "Python"))
    assert subtract(role, with_python) == prune(without)


def test_premium_is_with_over_without_minus_one_and_null_without_pay() -> None:
    assert premium_pct(120_000.0, 100_000.0) == pytest.approx(20.0)
    assert premium_pct(90_000.0, 100_000.0) == pytest.approx(-10.0)
    assert premium_pct(None, 100_000.0) is None
    assert premium_pct(100_000.0, None) is None
    assert premium_pct(100_000.0, 0.0) is None
