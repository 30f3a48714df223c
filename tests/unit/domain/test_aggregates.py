from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.aggregates import (
    add_increments,
    coalesce,
    contribution,
    decode_key,
    delta,
    encode_key,
    quantile,
    salary_stats,
    top_counts,
)
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import (
    NormalizedPosting,
    NormalizedSalary,
    SalaryBasis,
    Seniority,
    WorkMode,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def oracle_quantile(values: list[int], q: float) -> float:
    """numpy.quantile's default ("linear") written out over a plain sorted list."""
    xs = sorted(values)
    h = (len(xs) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


@given(
    st.lists(st.integers(min_value=10_000, max_value=900_000), min_size=1, max_size=300),
    st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 0.1, 0.9]),
)
def test_quantile_of_histogram_matches_sorted_list_oracle(values: list[int], q: float) -> None:
    hist = Counter(values)
    assert quantile(hist, q) == pytest.approx(oracle_quantile(values, q))


def test_quantile_of_empty_histogram_is_none() -> None:
    assert quantile({}, 0.5) is None
    assert quantile({100: 0}, 0.5) is None


def test_quantile_interpolates_between_order_statistics() -> None:
    # n=4: median position 1.5 -> halfway between 20 and 30
    assert quantile({10: 1, 20: 1, 30: 1, 40: 1}, 0.5) == 25.0
    assert quantile({10: 1, 20: 1, 30: 1, 40: 1}, 0.25) == 17.5


@pytest.mark.parametrize("name", ["Node.js", ".NET", "C++", "$weird", "100% remote", "a.b.c"])
def test_key_encoding_round_trips_and_has_no_dots_or_dollar(name: str) -> None:
    key = encode_key(name)
    assert "." not in key
    assert not key.startswith("$")
    assert decode_key(key) == name


def posting(
    key: str = "greenhouse:1",
    role: str | None = "llm-engineer",
    salary: tuple[int, int] | None = (100_000, 150_000),
    skills: tuple[str, ...] = ("Python", "Node.js"),
    flags: tuple[str, ...] = (),
) -> NormalizedPosting:
    return NormalizedPosting(
        posting_key=key,
        source=key.split(":")[0],
        source_id=key.split(":")[1],
        title="LLM Engineer",
        role=role,
        seniority=Seniority.SENIOR,
        skills=skills,
        company="Google",
        metro="New York",
        work_mode=WorkMode.REMOTE,
        salary=None
        if salary is None
        else NormalizedSalary(salary[0], salary[1], "USD", "year", salary[0], salary[1], "text"),
        flags=flags,
    )


def state(
    p: NormalizedPosting | None, open_: bool = True, key: str = "greenhouse:1"
) -> PostingState:
    return PostingState(key, p, open_, T0, "e1", T0)


def test_contribution_of_open_ai_posting_counts_everything_once() -> None:
    c = contribution(state(posting()))
    role = ("role", "llm-engineer")
    market = ("market", "market")
    assert c[(market, "seen")] == 1
    assert c[(market, "open_ai")] == 1
    assert c[(market, "roles.llm-engineer")] == 1
    assert c[(role, "open")] == 1
    assert c[(role, "skills.Node%2Ejs")] == 1
    assert c[(role, "salary.n")] == 1
    assert c[(role, "salary.sum_max")] == 150_000
    assert c[(role, "salary.hist_mid.125000")] == 1


def test_closed_and_non_ai_postings_only_count_in_market_totals() -> None:
    closed = contribution(state(posting(), open_=False))
    assert dict(closed) == {(("market", "market"), "seen"): 1}
    non_ai = contribution(state(posting(role=None)))
    assert {path for (_doc, path) in non_ai} == {"seen", "open_total"}


def test_implausible_salary_is_kept_out_of_salary_figures() -> None:
    c = contribution(state(posting(flags=("salary_implausible",))))
    assert not any(path.startswith("salary.") for (_doc, path) in c)
    assert c[(("role", "llm-engineer"), "open")] == 1


def test_delta_moves_a_posting_between_roles_and_drops_zeros() -> None:
    old = state(posting(role="llm-engineer"))
    new = state(posting(role="data-scientist"))
    d = delta(old, new)
    assert d[(("role", "llm-engineer"), "open")] == -1
    assert d[(("role", "data-scientist"), "open")] == 1
    assert (("market", "market"), "open_ai") not in d  # unchanged total is not written


def test_coalesce_sums_into_one_increment_document_per_aggregate() -> None:
    a = contribution(state(posting(key="lever:1"), key="lever:1"))
    b = contribution(state(posting(key="lever:2"), key="lever:2"))
    docs = coalesce([a, b, delta(state(posting(key="lever:2"), key="lever:2"), None)])
    assert docs[("role", "llm-engineer")]["open"] == 1
    assert docs[("market", "market")]["seen"] == 1


def test_salary_stats_on_each_basis() -> None:
    c: Counter[tuple[tuple[str, str], str]] = Counter()
    for i, (lo, hi) in enumerate([(100_000, 200_000), (120_000, 160_000), (90_000, 300_000)]):
        c.update(contribution(state(posting(key=f"x:{i}", salary=(lo, hi)), key=f"x:{i}")))
    salary = _nested(coalesce([c])[("role", "llm-engineer")])["salary"]
    assert isinstance(salary, dict)
    s = salary_stats(salary, SalaryBasis.MAX)
    assert (s.n, s.median, s.p25, s.p75) == (3, 200_000, 180_000, 250_000)
    assert s.average == pytest.approx(220_000)
    assert s.avg_min == pytest.approx(310_000 / 3)
    assert (s.low, s.high) == (160_000, 300_000)
    assert salary_stats(salary, SalaryBasis.MIN).median == 100_000
    assert salary_stats({}, SalaryBasis.MAX).n == 0


def test_top_counts_orders_by_count_then_name_and_skips_zeros() -> None:
    counts = {"Rust": 3, "AWS": 3, "Node%2Ejs": 5, "Gone": 0}
    assert top_counts(counts, 3) == [("Node.js", 5), ("AWS", 3), ("Rust", 3)]


def _nested(flat: dict[str, int]) -> dict[str, object]:
    """Rebuild the stored document from dotted $inc paths, as MongoDB would."""
    out: dict[str, object] = {}
    for path, value in flat.items():
        node = out
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})  # type: ignore[assignment]
        node[leaf] = value
    return out


def test_add_increments_adds_like_inc_and_drops_counters_that_reach_zero() -> None:
    hist = {"150000": 1, "90000": 1}
    doc = {"_id": "llm-engineer", "open": 2, "salary": {"hist_max": hist}}
    out = add_increments(doc, {"open": 1, "salary.hist_max.150000": -1, "skills.Py%2Ethon": 2})
    assert out == {
        "_id": "llm-engineer",
        "open": 3,
        "salary": {"hist_max": {"90000": 1}},
        "skills": {"Py%2Ethon": 2},
    }
    assert hist == {"150000": 1, "90000": 1}  # the input is left alone
