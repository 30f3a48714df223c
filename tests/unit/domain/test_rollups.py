"""Rollups (rolepulse/domain/rollups.py): what `contribution` adds to them, and that summing them
gives the figures of exactly the postings a filter selects."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rolepulse.domain.aggregates import (
    CELL,
    SKILL,
    TOTAL,
    add_increments,
    coalesce,
    contribution,
    delta,
)
from rolepulse.domain.filters import PostingFilter
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import (
    NormalizedPosting,
    NormalizedSalary,
    SalarySource,
    Seniority,
    WorkMode,
)
from rolepulse.domain.rollups import (
    Source,
    add_counters,
    add_in_place,
    decode_payload,
    driving_skill,
    encode_payload,
    figures_of_postings,
    postings_queries,
    prune,
    rollup_fields,
    scan_plan,
    source_for,
    sum_cells,
    without_company_parts,
)

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
METROS = ("New York", "San Francisco", None)
SKILLS = ("Python", "Node.js", "AWS", "Rust")
COMPANIES = ("Acme", "Globex", "Initech.io")


def posting(
    key: str,
    role: str | None = "llm-engineer",
    metro: str | None = "New York",
    seniority: Seniority = Seniority.SENIOR,
    work_mode: WorkMode = WorkMode.ONSITE,
    skills: tuple[str, ...] = ("Python",),
    company: str | None = "Acme",
    pay: tuple[int, int] | None = (100_000, 151_001),
    source: SalarySource = "structured",
) -> NormalizedPosting:
    salary = None
    if pay is not None:
        salary = NormalizedSalary(pay[0], pay[1], "USD", "year", pay[0], pay[1], source)
    return NormalizedPosting(
        key, key.split(":")[0], key.split(":")[1], "LLM Engineer", role, seniority, skills,
        company, metro, work_mode, salary,
    )  # fmt: skip


def state(p: NormalizedPosting, first_seen: datetime = T0, open_: bool = True) -> PostingState:
    return PostingState(p.posting_key, p, open_, first_seen, "e", first_seen)


def test_contribution_adds_the_posting_to_its_cell_its_skills_and_its_role_total() -> None:
    c = contribution(state(posting("lever:1", skills=("Python", "AWS"))))
    cell = (CELL, "llm-engineer|New York")
    assert c[(cell, "senior|onsite.open")] == 1
    assert c[(cell, "senior|onsite.companies.Acme")] == 1
    assert c[(cell, "senior|onsite.salary.hist_mid.125501")] == 1  # (100,000 + 151,001 + 1) // 2
    assert c[(cell, "senior|onsite.salary_source.structured")] == 1
    assert c[(cell, "senior|onsite.company_pay.Acme.sum_max")] == 151_001
    assert c[(cell, "senior|onsite.first_seen.2026-11-01")] == 1
    for skill in ("Python", "AWS"):
        ref = (SKILL, f"llm-engineer|{skill}")
        assert c[(ref, "open")] == 1
        assert c[(ref, "skills.Python")] == 1  # skills mentioned alongside
        assert not any(d == ref and p.startswith("compan") for d, p in c)
    total = (TOTAL, "llm-engineer")
    assert {p for d, p in c if d == total} == {
        "first_seen.2026-11-01", "salary_source.structured", "company_pay.Acme.n",
        "company_pay.Acme.sum_min", "company_pay.Acme.sum_max", "company_pay.Acme.sum_mid",
    }  # fmt: skip


def test_no_rollup_for_closed_non_ai_or_metro_less_cell_key() -> None:
    assert not any(
        d[0] in (CELL, SKILL, TOTAL) for d, _ in contribution(state(posting("a:1"), open_=False))
    )
    assert not any(
        d[0] in (CELL, SKILL, TOTAL) for d, _ in contribution(state(posting("a:1", role=None)))
    )
    remote = contribution(state(posting("a:1", metro=None, work_mode=WorkMode.REMOTE)))
    assert remote[((CELL, "llm-engineer|"), "senior|remote.open")] == 1


def test_first_seen_is_kept_by_utc_day() -> None:
    late = datetime(2026, 11, 1, 23, 30, tzinfo=UTC).astimezone(tz=None)
    c = contribution(state(posting("a:1"), first_seen=late))
    assert c[((TOTAL, "llm-engineer"), "first_seen.2026-11-01")] == 1


def test_a_re_observation_moves_nothing_and_is_not_computed() -> None:
    s = state(posting("a:1"))
    assert delta(s, PostingState("a:1", s.posting, True, T0 + timedelta(days=3), "e2", T0)) == {}


def random_states(seed: int, n: int) -> list[PostingState]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        p = posting(
            f"lever:{i}",
            role=rng.choice(("llm-engineer", "data-scientist")),
            metro=rng.choice(METROS),
            seniority=rng.choice(list(Seniority)),
            work_mode=rng.choice(list(WorkMode)),
            skills=tuple(rng.sample(SKILLS, rng.randrange(0, 4))),
            company=rng.choice((*COMPANIES, None)),
            pay=None if rng.random() < 0.3 else (rng.randrange(50, 200) * 1000, 250_000),
            source=rng.choice(("structured", "text", "description")),
        )
        first = T0 - timedelta(days=rng.randrange(0, 30), hours=rng.randrange(0, 24))
        out.append(state(p, first, open_=rng.random() < 0.85))
    return out


def rollups(states: list[PostingState]) -> dict[tuple[str, str], dict[str, object]]:
    docs = coalesce(contribution(s) for s in states)
    return {ref: prune(add_increments({}, inc)) for ref, inc in docs.items()}


filters = st.builds(
    PostingFilter,
    metros=st.none() | st.frozensets(st.sampled_from(["New York", "San Francisco"]), min_size=1),
    seniorities=st.none() | st.frozensets(st.sampled_from(list(Seniority)), min_size=1),
    work_modes=st.none() | st.frozensets(st.sampled_from(list(WorkMode)), min_size=1),
)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), filters)
def test_summed_cells_are_the_figures_of_the_postings_the_filter_selects(
    seed: int, f: PostingFilter
) -> None:
    states = random_states(seed, 120)
    docs = rollups(states)
    role = "llm-engineer"
    metros = [None, *METROS[:2]] if f.metros is None else sorted(f.metros)
    cells = [docs.get((CELL, f"{role}|{m or ''}"), {}) for m in metros]
    selected = [
        s for s in states
        if s.posting is not None and s.posting.role == role
        and f.matches(s.posting, s.first_seen_at, T0)
    ]  # fmt: skip
    assert sum_cells(cells, f) == figures_of_postings(selected)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_skill_rollup_is_the_skill_s_postings_without_company_maps(seed: int) -> None:
    states = random_states(seed, 150)
    docs = rollups(states)
    for skill in SKILLS:
        selected = [
            s for s in states
            if s.posting is not None and s.posting.role == "data-scientist"
            and skill in s.posting.skills
        ]  # fmt: skip
        want = without_company_parts(figures_of_postings(selected))
        assert docs.get((SKILL, f"data-scientist|{skill}"), {}) == want


def test_the_total_rollup_plus_the_role_document_is_the_whole_figure_set() -> None:
    states = random_states(9, 100)
    docs = rollups(states)
    whole = figures_of_postings(
        s for s in states if s.posting is not None and s.posting.role == "llm-engineer"
    )
    merged = {**docs[("role", "llm-engineer")], **docs[(TOTAL, "llm-engineer")]}
    assert merged == whole


@pytest.mark.parametrize(
    ("f", "source"),
    [
        (PostingFilter(), Source.ROLE),
        (PostingFilter(metros=frozenset({"Boston"})), Source.CELLS),
        (
            PostingFilter(
                metros=frozenset({"Boston"}),
                seniorities=frozenset({Seniority.MID}),
                work_modes=frozenset({WorkMode.REMOTE}),
            ),
            Source.CELLS,
        ),
        (PostingFilter(skills=frozenset({"Python"})), Source.SKILL),
        (PostingFilter(skills=frozenset({"Python", "AWS"})), Source.POSTINGS),
        (PostingFilter(skills=frozenset({"Python"}), metros=frozenset({"X"})), Source.POSTINGS),
        (PostingFilter(companies=frozenset({"Acme"})), Source.POSTINGS),
        (PostingFilter(posted_within_days=7), Source.POSTINGS),
    ],
)
def test_which_rollup_answers_a_filter(f: PostingFilter, source: Source) -> None:
    assert source_for(f) is source


def test_the_postings_path_reads_through_the_narrowest_counted_range() -> None:
    now = datetime(2026, 11, 10, 12, tzinfo=UTC)
    first_seen = {"2026-11-01": 50, "2026-11-05": 7, "2026-11-09": 3}
    companies = {"Acme": 40, "Globex": 2, "Initech%2Eio": 5}
    skills = {"Python": 900, "Rust": 12}
    f = PostingFilter(companies=frozenset({"Globex", "Initech.io"}), skills=frozenset({"Python"}))
    assert scan_plan(f, 60, first_seen, companies, skills, now) == (7, "company")
    f = PostingFilter(skills=frozenset({"Python", "Rust"}))
    assert scan_plan(f, 60, first_seen, companies, skills, now) == (12, "skills")
    assert driving_skill(f, skills) == "Rust"
    f = PostingFilter(posted_within_days=5, skills=frozenset({"Python"}))
    assert scan_plan(f, 60, first_seen, companies, skills, now) == (10, "role")
    assert scan_plan(f, 60, first_seen, companies, skills, None) == (0, "role")


def test_postings_queries_hold_one_index_s_fields_and_a_first_seen_range() -> None:
    now = datetime(2026, 11, 10, tzinfo=UTC)
    f = PostingFilter(
        metros=frozenset({"Boston"}),
        companies=frozenset({"Globex", "Acme"}),
        skills=frozenset({"Python", "Rust"}),
        posted_within_days=3,
    )
    since = {"$gte": now - timedelta(days=3)}
    assert postings_queries("llm-engineer", f, "company", now, "Rust") == [
        {"open": True, "company": "Acme", "first_seen_at": since},
        {"open": True, "company": "Globex", "first_seen_at": since},
    ]
    assert postings_queries("llm-engineer", f, "skills", now, "Rust") == [
        {"open": True, "skills": "Rust", "first_seen_at": since}
    ]
    everything = {"$gte": datetime(1970, 1, 1, tzinfo=UTC)}
    assert postings_queries("llm-engineer", PostingFilter(), "role", None, None) == [
        {"open": True, "role": "llm-engineer", "first_seen_at": everything}
    ]
    assert postings_queries("llm-engineer", f, "role", None, None) == []  # no clock: none recent


def test_payload_helpers() -> None:
    counters = {"open": 2, "skills": {"Python": 1, "Rust": 0}, "metros": {}}
    assert prune(counters) == {"open": 2, "skills": {"Python": 1}}
    assert decode_payload(encode_payload(prune(counters))) == prune(counters)
    assert decode_payload(None) == {}
    assert add_counters({"a": {"b": 1}}, {"a": {"b": 2, "c": 1}, "d": 3}) == {
        "a": {"b": 3, "c": 1},
        "d": 3,
    }
    assert rollup_fields(CELL, "llm-engineer|") == {"role": "llm-engineer", "metro": None}
    assert rollup_fields(SKILL, "llm-engineer|C++") == {"role": "llm-engineer", "skill": "C++"}
    assert rollup_fields(TOTAL, "llm-engineer") == {"role": "llm-engineer"}
    assert Counter(driving_skill(PostingFilter(), {}) for _ in range(2)) == Counter({None: 2})


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(st.sampled_from(["a.x", "a.y", "b.c.d", "b.c.e", "f"]), st.integers(0, 3)),
    st.dictionaries(
        st.sampled_from(["a.x", "a.y", "b.c.d", "b.c.e", "f", "g.h"]), st.integers(-3, 3)
    ),
)
def test_adding_in_place_equals_adding_then_pruning(
    stored: dict[str, int], increments: dict[str, int]
) -> None:
    counters = prune(add_increments({}, stored))
    # Counters never go below zero: a decrement takes away what was added.
    valid = {p: max(v, -stored.get(p, 0)) for p, v in increments.items()}
    want = prune(add_increments(counters, valid))
    assert add_in_place(decode_payload(encode_payload(counters)), valid) == want
