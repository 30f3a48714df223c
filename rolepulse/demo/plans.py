"""Plans for the postings of a demo market: exact counts for a role, loose ones for filler.

A `RoleSpec` states how many open postings of a role carry each seniority, metro, company, skill
and salary; `exact_plans` deals those attributes out so every published count holds by
construction, while the seed only decides which posting gets which attribute.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from rolepulse.demo import vocab
from rolepulse.demo.render import Plan
from rolepulse.demo.salaries import GRID, Pay, PayForm, SalaryTarget, solve
from rolepulse.domain.model import Seniority

T = TypeVar("T")

SENIORITY_RANK = {s: i for i, s in enumerate(Seniority)}
# Filler seniority: mostly mid and senior, as in real boards.
LOOSE_LEVEL_WEIGHTS = {
    Seniority.ENTRY: 1.0,
    Seniority.MID: 5.0,
    Seniority.SENIOR: 4.0,
    Seniority.LEAD: 1.5,
    Seniority.EXECUTIVE: 0.3,
}
SALARY_NOISE = 2.5  # in seniority ranks: pay rises with seniority, with plenty of overlap
# Monthly applies to the ~1 in 9 pays divisible by 12, text to the others.
SHARE_MONTHLY, SHARE_TEXT_K, SHARE_TEXT_FULL = 0.5, 0.15, 0.08


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """Exact figures of one role's open postings."""

    role: str
    open: int
    seniority: Mapping[Seniority, int]
    remote: int
    metros: Mapping[str, int]  # non-remote postings per metro
    companies: Mapping[str, int]  # published company name -> postings
    tail_cap: int  # most postings any other employer gets (keeps the top list as published)
    skills: Mapping[str, int]
    salary: SalaryTarget
    fixed_pays: tuple[Pay, ...]


def exact_plans(spec: RoleSpec, rng: random.Random) -> list[Plan]:
    """`spec.open` plans whose attribute counts are exactly those of `spec`."""
    seniorities = _deal(spec.seniority, spec.open, rng)
    metros: list[str | None] = [None] * spec.remote + _expand(spec.metros)
    companies = _expand(spec.companies)
    companies += _tail(spec.open - len(companies), spec.tail_cap, rng)
    skills = _skill_sets(spec.skills, spec.open, rng)
    pays = _assign_pays(spec, seniorities, rng)
    _check_sizes(spec, metros, companies)
    rng.shuffle(metros)
    rng.shuffle(companies)
    return [
        Plan(spec.role, s, c, m, k, p)
        for s, m, c, k, p in zip(seniorities, metros, companies, skills, pays, strict=True)
    ]


def loose_plan(role: str, rng: random.Random, *, paid: float = 0.7) -> Plan:
    """A plausible posting of `role` whose details feed no published figure."""
    levels = list(vocab.TITLES[role])
    seniority = rng.choices(levels, weights=[LOOSE_LEVEL_WEIGHTS[s] for s in levels])[0]
    metro = None if rng.random() < 0.15 else rng.choice(list(vocab.LOCATIONS))
    skills = tuple(rng.sample(vocab.FILLER_SKILLS, rng.randrange(0, 4)))
    pay = None
    if rng.random() < paid:
        top = rng.randrange(120, 320) * GRID
        pay = Pay(top - rng.randrange(20, 80) * GRID, top, PayForm.YEAR)
    return Plan(role, seniority, rng.choice(vocab.COMPANY_POOL), metro, skills, pay)


def non_ai_plan(rng: random.Random) -> Plan:
    """A posting at an AI-branded employer whose title is not an AI role."""
    company = rng.choice(vocab.NON_AI_COMPANIES + vocab.COMPANY_POOL[:10])
    metro = rng.choice(list(vocab.LOCATIONS))
    title = rng.choice(vocab.NON_AI_TITLES)
    return Plan(None, Seniority.MID, company, metro, (), None, title=title)


def _deal(counts: Mapping[Seniority, int], total: int, rng: random.Random) -> list[Seniority]:
    dealt = _expand(counts)
    if len(dealt) != total:
        raise ValueError(f"seniority counts sum to {len(dealt)}, not {total}")
    rng.shuffle(dealt)
    return dealt


def _expand(counts: Mapping[T, int]) -> list[T]:
    return [key for key, count in counts.items() for _ in range(count)]


def _tail(count: int, cap: int, rng: random.Random) -> list[str]:
    """`count` postings spread over the company pool, a few employers larger than others."""
    weights = [1 / (rank + 1) ** 0.5 for rank in range(len(vocab.COMPANY_POOL))]
    taken: Counter[str] = Counter()
    while sum(taken.values()) < count:
        company = rng.choices(vocab.COMPANY_POOL, weights=weights)[0]
        if taken[company] < cap:
            taken[company] += 1
    return _expand(taken)


def _skill_sets(counts: Mapping[str, int], total: int, rng: random.Random) -> list[tuple[str, ...]]:
    """Each skill on exactly its count of postings; a posting lists its skills in a random order."""
    per_posting: list[list[str]] = [[] for _ in range(total)]
    for skill, count in counts.items():
        for i in rng.sample(range(total), count):
            per_posting[i].append(skill)
    for skills in per_posting:
        rng.shuffle(skills)
    return [tuple(s) for s in per_posting]


def _assign_pays(
    spec: RoleSpec, seniorities: list[Seniority], rng: random.Random
) -> list[Pay | None]:
    """Disclosed pays go to a random subset; within it, higher pay tends to go to senior titles."""
    pays = sorted(
        _forms(solve(spec.salary, list(spec.fixed_pays), rng), rng), key=lambda p: p.annual_max
    )
    disclosed = rng.sample(range(spec.open), spec.salary.n)
    disclosed.sort(key=lambda i: SENIORITY_RANK[seniorities[i]] + rng.uniform(0, SALARY_NOISE))
    out: list[Pay | None] = [None] * spec.open
    for i, pay in zip(disclosed, pays, strict=True):
        out[i] = pay
    return out


def _forms(pays: list[Pay], rng: random.Random) -> list[Pay]:
    """Publish some yearly pays monthly or as text, where the numbers print exactly."""
    return [_form(pay, rng.random()) for pay in pays]


def _form(pay: Pay, roll: float) -> Pay:
    lo, hi = pay.annual_min, pay.annual_max
    if pay.form is not PayForm.YEAR or lo % GRID or hi % GRID:
        return pay
    if lo % 12 == 0 and hi % 12 == 0:  # monthly figures must be whole dollars too
        return Pay(lo, hi, PayForm.MONTH) if roll < SHARE_MONTHLY else pay
    if roll < SHARE_TEXT_K:
        return Pay(lo, hi, PayForm.TEXT_K)
    if roll < SHARE_TEXT_K + SHARE_TEXT_FULL:
        return Pay(lo, hi, PayForm.TEXT_FULL)
    return pay


def _check_sizes(spec: RoleSpec, metros: list[str | None], companies: list[str]) -> None:
    if len(metros) != spec.open or len(companies) != spec.open:
        raise ValueError(f"{spec.role}: metro or company counts do not sum to {spec.open}")
    if any(c > spec.open for c in spec.skills.values()):
        raise ValueError(f"{spec.role}: a skill count exceeds the open postings")
