"""Role-versus-role comparison: pure math over two roles' read-side figures.

The API maps aggregate documents onto `RoleSide` values and renders `Comparison` as-is; nothing
here does I/O, so the seed page's derived figures (premium, shared skills, overlap, ceiling gap)
are testable from plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from rolepulse.domain.aggregates import SalaryStats
from rolepulse.domain.model import SalaryBasis

# The seed page compares top-8 skill lists and divides the shared count by 8, not by the union.
TOP_SKILLS = 8
# Below this many postings with disclosed pay a salary figure is flagged as indicative only.
MIN_SAMPLE = 30
# Feasibility of switching, by overlap % of the top-8 lists: 5+ shared skills is HIGH, 3-4 is
# MEDIUM, fewer is LOW (the seed pair shares 4 = 50%: a realistic switch with some retraining).
HIGH_OVERLAP_PCT = 62.5
MEDIUM_OVERLAP_PCT = 37.5

BASIS_LABELS = {
    SalaryBasis.MIN: "min of range",
    SalaryBasis.MAX: "max of range",
    SalaryBasis.MIDPOINT: "midpoint of range",
}


class Feasibility(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class RoleSide:
    """What a comparison needs of one role: its name, salary figures and ranked top skills."""

    name: str
    salary: SalaryStats
    top_skills: tuple[str, ...]  # most-mentioned first; only the first TOP_SKILLS count


@dataclass(frozen=True, slots=True)
class Switching:
    shared_skill_count: int
    overlap_pct: float
    feasibility: Feasibility
    summary: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """Derived figures of `a` against `b`; percentages unrounded, None when undefined."""

    basis: SalaryBasis
    premium_pct: float | None  # (a.average / b.average - 1) * 100
    higher_paid: Literal["a", "b"] | None  # None when equal or either side has no pay data
    shared_skills: tuple[str, ...]  # in a's rank order
    unique_to_a: tuple[str, ...]
    unique_to_b: tuple[str, ...]
    overlap_pct: float  # shared / TOP_SKILLS * 100
    jaccard_pct: float | None  # shared / union * 100; None when both lists are empty
    salary_ceiling_gap: float | None  # a.avg_max - b.avg_max
    switching: Switching
    verdict: str
    sample_warning: str | None


def compare(a: RoleSide, b: RoleSide) -> Comparison:
    """Compare role `a` against role `b` on the salary basis both sides were computed on."""
    if a.salary.basis is not b.salary.basis:
        raise ValueError(f"salary bases differ: {a.salary.basis} vs {b.salary.basis}")
    skills_a, skills_b = a.top_skills[:TOP_SKILLS], b.top_skills[:TOP_SKILLS]
    shared = tuple(s for s in skills_a if s in skills_b)
    union = set(skills_a) | set(skills_b)
    overlap = len(shared) / TOP_SKILLS * 100
    return Comparison(
        basis=a.salary.basis,
        premium_pct=premium_pct(a.salary.average, b.salary.average),
        higher_paid=higher_paid(a.salary.average, b.salary.average),
        shared_skills=shared,
        unique_to_a=tuple(s for s in skills_a if s not in skills_b),
        unique_to_b=tuple(s for s in skills_b if s not in skills_a),
        overlap_pct=overlap,
        jaccard_pct=len(shared) / len(union) * 100 if union else None,
        salary_ceiling_gap=_difference(a.salary.avg_max, b.salary.avg_max),
        switching=switching(a.name, b.name, len(shared), overlap),
        verdict=verdict(a, b),
        sample_warning=sample_warning(a, b),
    )


def premium_pct(average_a: float | None, average_b: float | None) -> float | None:
    if average_a is None or not average_b:
        return None
    return (average_a / average_b - 1) * 100


def higher_paid(average_a: float | None, average_b: float | None) -> Literal["a", "b"] | None:
    if average_a is None or average_b is None or average_a == average_b:
        return None
    return "a" if average_a > average_b else "b"


def feasibility(overlap_pct: float) -> Feasibility:
    if overlap_pct >= HIGH_OVERLAP_PCT:
        return Feasibility.HIGH
    if overlap_pct >= MEDIUM_OVERLAP_PCT:
        return Feasibility.MEDIUM
    return Feasibility.LOW


def switching(name_a: str, name_b: str, shared: int, overlap_pct: float) -> Switching:
    level = feasibility(overlap_pct)
    advice = {
        Feasibility.HIGH: "a switch mostly reuses existing skills",
        Feasibility.MEDIUM: "a switch is realistic with targeted upskilling",
        Feasibility.LOW: "a switch means learning a largely new skill set",
    }[level]
    summary = (
        f"Moving between {name_a} and {name_b}: {shared} of the top {TOP_SKILLS} skills "
        f"overlap ({overlap_pct:.0f}%), so {advice}."
    )
    return Switching(shared, overlap_pct, level, summary)


def verdict(a: RoleSide, b: RoleSide) -> str:
    """One sentence naming the better-paid role, e.g. "X pays 28% more on average than Y ..."."""
    basis = BASIS_LABELS[a.salary.basis]
    avg_a, avg_b = a.salary.average, b.salary.average
    if avg_a is None or avg_b is None or not avg_a or not avg_b:
        return (
            f"Not enough disclosed pay to compare {a.name} and {b.name} "
            f"(basis: {basis}; n = {a.salary.n} and {b.salary.n})"
        )
    hi, lo = (a, b) if avg_a >= avg_b else (b, a)
    pct = premium_pct(hi.salary.average, lo.salary.average) or 0.0
    if round(pct) == 0:
        # "pays 0% more" reads as a contradiction; under half a percent is a tie to a reader.
        return (
            f"{a.name} and {b.name} pay about the same on average "
            f"(basis: {basis}; n = {a.salary.n} and {b.salary.n})"
        )
    return (
        f"{hi.name} pays {pct:.0f}% more on average than {lo.name} "
        f"(basis: {basis}; n = {hi.salary.n} and {lo.salary.n})"
    )


def sample_warning(a: RoleSide, b: RoleSide) -> str | None:
    thin = [side for side in (a, b) if side.salary.n < MIN_SAMPLE]
    if not thin:
        return None
    parts = "; ".join(f"{s.name} has n = {s.salary.n}" for s in thin)
    return (
        f"Small sample: {parts} postings with disclosed pay (fewer than {MIN_SAMPLE}); "
        "treat its salary figures as indicative only."
    )


def _difference(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else x - y
