"""Turn a planned posting into the `posting` object of a v1 event, the way boards publish it."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from rolepulse.demo import vocab
from rolepulse.demo.salaries import Pay, PayForm
from rolepulse.domain.model import Seniority

SOURCES = ("greenhouse", "lever", "indeed", "linkedin", "careers-page")
HOURS_PER_YEAR = 2080  # the normalizer's annualizing rule: hour x2080, month x12
HYBRID_SHARE = 0.15
UNDISCLOSED_TEXT = (None, None, None, "Competitive", "DOE", "Negotiable")

Json = dict[str, object]


@dataclass(frozen=True, slots=True)
class Plan:
    """What a posting must normalize to; rendering picks the wording."""

    role: str | None
    seniority: Seniority
    company: str  # as published (the normalizer canonicalizes it)
    metro: str | None  # key of vocab.LOCATIONS; None means remote
    skills: tuple[str, ...]  # canonical skill names
    pay: Pay | None
    title: str | None = None  # fixed title (non-AI postings); else drawn from vocab.TITLES


class SourceIds:
    """Board-shaped ids, unique per source."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seen: set[tuple[str, str]] = set()

    def next(self, source: str) -> str:
        while True:
            sid = self._draw(source)
            if (source, sid) not in self._seen:
                self._seen.add((source, sid))
                return sid

    def _draw(self, source: str) -> str:
        r = self._rng
        if source == "greenhouse":
            return str(r.randrange(4_000_000, 8_000_000))
        if source == "lever":
            return f"{r.getrandbits(32):08x}-{r.getrandbits(16):04x}-{r.getrandbits(16):04x}"
        if source == "indeed":
            return f"{r.getrandbits(64):016x}"
        if source == "linkedin":
            return str(r.randrange(3_700_000_000, 4_100_000_000))
        return f"R-{r.randrange(100_000, 1_000_000)}"


def posting(plan: Plan, source: str, source_id: str, seen_at: datetime, rng: random.Random) -> Json:
    """The `posting` object of an observation of `plan`."""
    title = plan.title or rng.choice(vocab.TITLES[plan.role or ""][plan.seniority])
    salary, salary_text = _pay_fields(plan.pay, rng)
    remote = plan.metro is None
    return {
        "source_id": source_id,
        "url": board_url(source, source_id, plan.company),
        "title": title,
        "company": plan.company,
        "location": _location(plan.metro, rng),
        "remote": True if remote else rng.choice((False, None)),
        "description": _description(plan, rng),
        "salary": salary,
        "salary_text": salary_text,
        "seniority": None,  # boards' own levels ("Mid-Senior level") blur mid and senior
        "employment_type": "Contract"
        if plan.pay and plan.pay.form is PayForm.HOUR
        else "Full-time",
        "posted_at": stamp(seen_at - timedelta(days=rng.randrange(0, 6), hours=rng.randrange(24))),
    }


def _location(metro: str | None, rng: random.Random) -> str | None:
    if metro is None:
        return rng.choice(vocab.REMOTE_LOCATIONS)
    place = rng.choice(vocab.LOCATIONS[metro])
    # Hybrid postings still name their metro; only "Remote" ones leave it out.
    return f"{place} (Hybrid)" if rng.random() < HYBRID_SHARE else place


def _description(plan: Plan, rng: random.Random) -> str:
    intro = rng.choice(vocab.INTROS.get(plan.role or "", vocab.DEFAULT_INTROS))
    parts = [intro]
    if plan.skills:
        phrases = [rng.choice(vocab.SKILL_PHRASES[s]) for s in plan.skills]
        parts.append(rng.choice(vocab.SKILL_SENTENCES).format(skills=_join(phrases)))
    parts.append(rng.choice(vocab.CLOSINGS))
    return " ".join(p for p in parts if p)


def _join(items: list[str]) -> str:
    if len(items) < 3:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _pay_fields(pay: Pay | None, rng: random.Random) -> tuple[Json | None, str | None]:
    if pay is None:
        return None, rng.choice(UNDISCLOSED_TEXT)
    lo, hi = pay.annual_min, pay.annual_max
    match pay.form:
        case PayForm.YEAR:
            return _structured(lo, hi, "year"), None
        case PayForm.MONTH:
            return _structured(lo // 12, hi // 12, "month"), None
        case PayForm.HOUR:
            return _structured(lo // HOURS_PER_YEAR, hi // HOURS_PER_YEAR, "hour"), None
        case PayForm.TEXT_K:
            return None, f"${lo // 1000}K–${hi // 1000}K"
        case PayForm.TEXT_FULL:
            return None, f"${lo:,} - ${hi:,} a year"
        case PayForm.TEXT_HOUR:
            return None, f"${lo // HOURS_PER_YEAR} - ${hi // HOURS_PER_YEAR} an hour"
        case PayForm.TEXT_UP_TO:
            return None, f"Up to ${hi // 1000}K"
    raise AssertionError(pay.form)  # pragma: no cover - match is exhaustive


def _structured(lo: int, hi: int, period: str) -> Json:
    return {"min": lo, "max": hi, "currency": "USD", "period": period}


def board_url(source: str, source_id: str, company: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")
    match source:
        case "greenhouse":
            return f"https://boards.greenhouse.io/{slug}/jobs/{source_id}"
        case "lever":
            return f"https://jobs.lever.co/{slug}/{source_id}"
        case "indeed":
            return f"https://www.indeed.com/viewjob?jk={source_id}"
        case "linkedin":
            return f"https://www.linkedin.com/jobs/view/{source_id}"
    return f"https://careers.{slug}.com/jobs/{source_id}"


def stamp(at: datetime) -> str:
    """RFC 3339 in UTC with a trailing Z, second precision."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
