"""Pure comparison math, checked against the seed page's published figures."""

from __future__ import annotations

import pytest

from rolepulse.domain.aggregates import SalaryStats
from rolepulse.domain.compare import (
    Feasibility,
    RoleSide,
    compare,
    feasibility,
    premium_pct,
)
from rolepulse.domain.model import SalaryBasis

SWE_SKILLS = ("RAG", "Python", "Rust", "Kubernetes", "AWS", "Docker", "Claude", "OpenAI")
PM_SKILLS = ("RAG", "Rust", "AWS", "Python", "Prompt Engineering", "GCP", "Salesforce", "Azure")


def stats(
    n: int,
    average: float | None,
    avg_max: float | None = None,
    basis: SalaryBasis = SalaryBasis.MAX,
) -> SalaryStats:
    return SalaryStats(basis, n, None, avg_max, None, None, average, None, None, None)


def side(name: str, salary: SalaryStats, skills: tuple[str, ...] = ()) -> RoleSide:
    return RoleSide(name, salary, skills)


def seed_pair() -> tuple[RoleSide, RoleSide]:
    swe = side("AI Software Engineer", stats(518, 249_000, 249_000), SWE_SKILLS)
    pm = side("AI Product Manager", stats(475, 194_000, 194_000), PM_SKILLS)
    return swe, pm


def test_seed_page_figures() -> None:
    swe, pm = seed_pair()
    result = compare(swe, pm)
    assert result.premium_pct == pytest.approx(28.35, abs=0.01)
    assert result.higher_paid == "a"
    assert result.shared_skills == ("RAG", "Python", "Rust", "AWS")
    assert result.overlap_pct == 50.0
    assert result.jaccard_pct == pytest.approx(4 / 12 * 100)
    assert result.salary_ceiling_gap == 55_000
    assert result.unique_to_a == ("Kubernetes", "Docker", "Claude", "OpenAI")
    assert result.unique_to_b == ("Prompt Engineering", "GCP", "Salesforce", "Azure")
    assert result.sample_warning is None
    assert result.verdict == (
        "AI Software Engineer pays 28% more on average than AI Product Manager "
        "(basis: max of range; n = 518 and 475)"
    )


def test_verdict_names_the_higher_paid_role_first_when_b_pays_more() -> None:
    swe, pm = seed_pair()
    result = compare(pm, swe)
    assert result.higher_paid == "b"
    assert result.premium_pct == pytest.approx((194 / 249 - 1) * 100)
    assert result.salary_ceiling_gap == -55_000
    assert result.verdict.startswith("AI Software Engineer pays 28% more on average than AI Pr")
    assert result.verdict.endswith("n = 518 and 475)")


def test_switching_for_the_seed_pair() -> None:
    result = compare(*seed_pair())
    assert result.switching.shared_skill_count == 4
    assert result.switching.overlap_pct == 50.0
    assert result.switching.feasibility is Feasibility.MEDIUM
    assert "4 of the top 8 skills overlap (50%)" in result.switching.summary


@pytest.mark.parametrize(
    ("shared", "expected"),
    [
        (0, Feasibility.LOW),
        (2, Feasibility.LOW),
        (3, Feasibility.MEDIUM),
        (4, Feasibility.MEDIUM),
        (5, Feasibility.HIGH),
        (8, Feasibility.HIGH),
    ],
)
def test_feasibility_thresholds(shared: int, expected: Feasibility) -> None:
    assert feasibility(shared / 8 * 100) is expected


def test_no_pay_data_leaves_salary_figures_undefined() -> None:
    a = side("A", stats(0, None))
    b = side("B", stats(40, 100_000, 120_000))
    result = compare(a, b)
    assert result.premium_pct is None
    assert result.higher_paid is None
    assert result.salary_ceiling_gap is None
    assert (
        result.verdict
        == "Not enough disclosed pay to compare A and B (basis: max of range; n = 0 and 40)"
    )
    assert result.sample_warning is not None
    assert "A has n = 0" in result.sample_warning
    assert "B has" not in result.sample_warning


def test_equal_pay_is_a_tie() -> None:
    result = compare(side("A", stats(40, 100_000)), side("B", stats(50, 100_200)))
    assert result.higher_paid == "b"
    assert result.verdict.startswith("A and B pay about the same on average")


def test_sample_warning_lists_every_thin_role() -> None:
    result = compare(side("A", stats(29, 1.0)), side("B", stats(3, 1.0)))
    assert result.sample_warning is not None
    assert "A has n = 29" in result.sample_warning
    assert "B has n = 3" in result.sample_warning
    assert compare(side("A", stats(30, 1.0)), side("B", stats(30, 1.0))).sample_warning is None


def test_empty_skill_lists() -> None:
    result = compare(side("A", stats(30, 1.0)), side("B", stats(30, 1.0)))
    assert result.shared_skills == ()
    assert result.overlap_pct == 0.0
    assert result.jaccard_pct is None
    assert result.switching.feasibility is Feasibility.LOW


def test_only_the_top_eight_skills_count() -> None:
    a = side("A", stats(30, 1.0), (*SWE_SKILLS, "Azure"))
    b = side("B", stats(30, 1.0), ("Azure",))
    assert compare(a, b).shared_skills == ()


def test_premium_undefined_when_b_average_is_zero() -> None:
    assert premium_pct(100.0, 0.0) is None
    assert premium_pct(150.0, 100.0) == 50.0


def test_mixed_bases_are_rejected() -> None:
    a = side("A", stats(30, 1.0, basis=SalaryBasis.MIN))
    with pytest.raises(ValueError, match="bases differ"):
        compare(a, side("B", stats(30, 1.0)))
