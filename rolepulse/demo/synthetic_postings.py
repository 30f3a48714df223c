"""Stored postings made up in bulk, in the exact shape the consumer writes (`state_to_doc`), for
the drill-down's tests and benchmark (benchmarks/postings_bench.py).

Going through Kafka and the consumer would take about 17 minutes per million postings here; the
drill-down only reads `postings`, so its benchmark writes their documents directly. Every draw is
a pure function of (seed, i), so a market can be regenerated, and extended, identically.

What the drill-down has to cope with is in the mix: a skewed company distribution (a few large
employers, a long tail), skills of very different popularity, salaries rounded to $5,000 (many
ties in SALARY_DESC), first-seen times that repeat (ties in FIRST_SEEN_DESC), postings without
an AI role, closed postings, implausible pay, and jobs posted on two boards (a cluster of two of
which only the earlier is `counted`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rolepulse.consumers.documents import state_to_doc
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import NormalizedPosting, NormalizedSalary, Seniority, WorkMode
from rolepulse.domain.salary import IMPLAUSIBLE_FLAG
from rolepulse.taxonomy import load_taxonomy

START = datetime(2026, 9, 1, tzinfo=UTC)
SOURCES = ("greenhouse", "lever", "indeed", "linkedin", "careers-page")
_SENIORITY_WEIGHTS = (
    (Seniority.ENTRY, 10),
    (Seniority.MID, 40),
    (Seniority.SENIOR, 35),
    (Seniority.LEAD, 12),
    (Seniority.EXECUTIVE, 3),
)
_MODE_WEIGHTS = (
    (WorkMode.ONSITE, 45),
    (WorkMode.HYBRID, 30),
    (WorkMode.REMOTE, 20),
    (WorkMode.UNKNOWN, 5),
)


@dataclass(frozen=True, slots=True)
class MarketShape:
    """What a synthetic market is drawn from (defaults: the taxonomy, a realistic mix)."""

    roles: tuple[str, ...]
    metros: tuple[str, ...]
    skills: tuple[str, ...]
    companies: int = 2_000
    span: timedelta = timedelta(days=30)
    open_share: float = 0.85
    ai_share: float = 0.9
    pay_share: float = 0.65
    cross_post_every: int = 50

    @classmethod
    def default(cls, **overrides: Any) -> MarketShape:
        taxonomy = load_taxonomy()
        return cls(
            roles=tuple(taxonomy.roles),
            metros=tuple(m.name for m in taxonomy.metros),
            skills=tuple(s.name for s in taxonomy.skills),
            **overrides,
        )


def company_name(index: int) -> str:
    return f"Company {index:05d}"


def _weighted(rng: random.Random, pairs: Sequence[tuple[Any, int]]) -> Any:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights)[0]


def posting_state(shape: MarketShape, seed: int, i: int, n: int) -> PostingState:
    """Posting `i` of a market of `n` (first seen evenly over `shape.span`, newest last)."""
    rng = random.Random(seed * 1_000_003 + i)
    key_source = SOURCES[i % len(SOURCES)]
    source_id = f"{seed}-{i:08d}"
    # Whole seconds, and every 7th posting at the time of the one before: ties in first seen.
    offset = int(shape.span.total_seconds() * (i - (i % 7 == 6)) / max(n, 1))
    first_seen = START + timedelta(seconds=offset)
    role = rng.choice(shape.roles) if rng.random() < shape.ai_share else None
    # Half log-uniform over the index (a few large employers: the largest has ~4 % of the
    # postings), half uniform (a long tail).
    if rng.random() < 0.5:
        company = company_name(int(shape.companies ** rng.random()) - 1)
    else:
        company = company_name(rng.randrange(shape.companies))
    metro = rng.choice(shape.metros[:20]) if rng.random() < 0.8 else None
    if metro is not None and rng.random() < 0.1:
        metro = rng.choice(shape.metros)
    # Skills: the first few of the taxonomy far more often than the rest.
    count = rng.randint(2, 6)
    skills = tuple(
        dict.fromkeys(
            shape.skills[min(int(rng.expovariate(1 / 8)), len(shape.skills) - 1)]
            for _ in range(count)
        )
    )
    salary = None
    flags: tuple[str, ...] = ()
    if rng.random() < shape.pay_share:
        low = rng.randrange(18, 52) * 5_000
        high = low + rng.randrange(2, 24) * 5_000
        salary = NormalizedSalary(
            low, high, "USD", "year", low, high, "structured" if rng.random() < 0.8 else "text"
        )
        if rng.random() < 0.03:
            salary = NormalizedSalary(1, 9_000_000, "USD", "year", 1, 9_000_000, "text")
            flags = (IMPLAUSIBLE_FLAG,)
    mode = WorkMode.REMOTE if metro is None else _weighted(rng, _MODE_WEIGHTS)
    posting = NormalizedPosting(
        posting_key=f"{key_source}:{source_id}",
        source=key_source,
        source_id=source_id,
        title=f"{role or 'Account Executive'} {i}",
        role=role,
        seniority=_weighted(rng, _SENIORITY_WEIGHTS),
        skills=skills,
        company=company,
        metro=metro,
        work_mode=mode,
        salary=salary,
        url=f"https://jobs.example.com/{key_source}/{source_id}",
        posted_at=first_seen - timedelta(days=1),
        flags=flags,
        cluster_key=f"{company}|{i}|{metro}",
    )
    is_open = rng.random() < shape.open_share
    return PostingState(
        posting_key=posting.posting_key,
        posting=posting,
        open=is_open,
        last_event_at=first_seen,
        last_event_id=f"synthetic-{seed}-{i}",
        first_seen_at=first_seen,
        last_observed_at=first_seen,
        closed_reason=None if is_open else "closed",
        cluster_id=f"{posting.cluster_key}@{posting.posting_key}",
    )


def posting_docs(
    shape: MarketShape, seed: int, n: int, start: int = 0, stop: int | None = None
) -> Iterator[dict[str, Any]]:
    """Documents of postings `start` .. `stop` (default `n`) of a market of `n`.

    Every `cross_post_every`-th posting is the previous one's job on another board: it joins
    that cluster (same company, title, metro) and, first seen later, is not the one counted.
    """
    stop = n if stop is None else stop
    previous: PostingState | None = posting_state(shape, seed, start - 1, n) if start > 0 else None
    for i in range(start, stop):
        state = posting_state(shape, seed, i, n)
        counted = True
        every = shape.cross_post_every
        if every and previous is not None and i % every == every - 1 and previous.posting:
            state = _cross_post(state, previous)
            counted = False
        doc: dict[str, Any] = dict(state_to_doc(state))
        doc["counted"] = counted
        yield doc
        previous = state


def _cross_post(state: PostingState, original: PostingState) -> PostingState:
    assert state.posting is not None
    assert original.posting is not None
    o = original.posting
    posting = NormalizedPosting(
        posting_key=state.posting_key,
        source=state.posting.source,
        source_id=state.posting.source_id,
        title=o.title,
        role=o.role,
        seniority=o.seniority,
        skills=state.posting.skills,
        company=o.company,
        metro=o.metro,
        work_mode=o.work_mode,
        salary=state.posting.salary,
        url=state.posting.url,
        posted_at=state.posting.posted_at,
        flags=state.posting.flags,
        cluster_key=o.cluster_key,
    )
    return PostingState(
        posting_key=state.posting_key,
        posting=posting,
        open=original.open,
        last_event_at=state.last_event_at,
        last_event_id=state.last_event_id,
        # Seen after the original, so the original is the member its cluster counts.
        first_seen_at=max(state.first_seen_at, original.first_seen_at + timedelta(seconds=1)),
        last_observed_at=state.last_observed_at,
        closed_reason=original.closed_reason,
        cluster_id=original.cluster_id,
    )
