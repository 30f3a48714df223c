"""The figures a list of events should produce, computed the plain way: an oracle for tests.

Deliberately independent of the consumer's incremental machinery (consumers/plan.py, the
contribution/delta counters of rolepulse/domain/aggregates.py): it replays no batches and keeps no
counters, it groups every event by posting, decides each posting's final state from event times
alone, and derives the figures from the final open set with sorted lists. Only normalization
(`Normalizer`) and the event contract are shared, because those define what an event means.

Rules, restated from DESIGN.md and the lifecycle (rolepulse/domain/lifecycle.py docstring):
- a message is rejected when it is not a v1 event (larger than 1 MB, invalid JSON, unknown
  version, failing the contract) or an observation that cannot be normalized; the edge bounds
  of consumers/decode.py (nesting depth, text, a time more than a day ahead of now) are shared
  as the contract is, since they too decide what counts as an event;
- an event id counts once, at its first delivery;
- an expiry ("closed" with reason "expired", sweeper time T) takes effect only if the posting was
  never observed after T;
- a posting is open when the latest of its observations, closes and effective expiries, by
  event time (ties: later delivery), is an observation; its data is its latest observation;
- a posting with at least one observation is "seen"; open postings count in the open set, and
  those with a role in that role's figures; a salary flagged implausible is not a salary figure.
Not modelled: cross-board clusters (one job on several sources counting once); streams checked
against this oracle must use one source per job.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rolepulse.consumers.decode import Rejected, decode
from rolepulse.domain.model import NormalizedPosting, SalaryBasis
from rolepulse.domain.normalize import NormalizationError, Normalizer
from rolepulse.schema.events import PostingEventV1

IMPLAUSIBLE = "salary_implausible"
QUANTILES = {"p25": 0.25, "median": 0.5, "p75": 0.75}

Figures = dict[str, Any]


@dataclass
class _History:
    """Every distinct event of one posting, in delivery order (`seq` numbers them)."""

    observations: list[tuple[datetime, int, NormalizedPosting]] = field(default_factory=list)
    closes: list[tuple[datetime, int]] = field(default_factory=list)
    expiries: list[tuple[datetime, int, datetime]] = field(default_factory=list)  # (.., T)


@dataclass(frozen=True, slots=True)
class Expected:
    """What the stored state must be after every message has been delivered at least once."""

    applied_event_ids: frozenset[str]
    rejected_messages: int
    open_by_key: dict[str, bool]  # every posting that has a stored state
    figures: Figures  # {"market": {...}, "roles": {slug: {...}}}, see `figures_of`


def expected(messages: Iterable[bytes | None], normalizer: Normalizer) -> Expected:
    """The expected outcome of delivering `messages` (in delivery order, duplicates included)."""
    histories: dict[str, _History] = {}
    applied: set[str] = set()
    rejected = 0
    now = datetime.now(UTC)
    for seq, raw in enumerate(messages):
        event = _decode(raw, normalizer, now)
        posting = _normalized(event, normalizer) if event is not None else None
        if event is None or (event.event_type == "posting.observed" and posting is None):
            rejected += 1
            continue
        if event.event_id in applied:
            continue
        applied.add(event.event_id)
        history = histories.setdefault(event.posting_key, _History())
        at = event.occurred_at
        if posting is not None:
            history.observations.append((at, seq, posting))
        elif event.reason == "expired" and event.last_observed_at is not None:
            history.expiries.append((at, seq, event.last_observed_at))
        else:
            history.closes.append((at, seq))
    states = {key: _final(h) for key, h in histories.items()}
    stored = {k: s for k, s in states.items() if s is not None}
    return Expected(
        applied_event_ids=frozenset(applied),
        rejected_messages=rejected,
        open_by_key={k: is_open for k, (is_open, _) in stored.items()},
        figures=figures_of(stored.values()),
    )


def _decode(raw: bytes | None, normalizer: Normalizer, now: datetime) -> PostingEventV1 | None:
    if raw is None or isinstance(decode(raw, normalizer, now=now), Rejected):
        return None
    return PostingEventV1.model_validate(json.loads(raw))


def _normalized(event: PostingEventV1, normalizer: Normalizer) -> NormalizedPosting | None:
    if event.event_type != "posting.observed":
        return None
    try:
        return normalizer.normalize(event)
    except NormalizationError:
        return None


def _final(h: _History) -> tuple[bool, NormalizedPosting | None] | None:
    """(open, data) of one posting; None when nothing is stored (an expiry of an unknown key)."""
    if not h.observations and not h.closes:
        return None
    last_seen = max((at for at, _, _ in h.observations), default=None)
    effective = [(at, seq) for at, seq, t in h.expiries if last_seen is not None and last_seen <= t]
    endings = [*h.closes, *effective]
    latest_obs = max(h.observations, key=lambda o: (o[0], o[1]), default=None)
    latest_end = max(endings, default=None)
    is_open = latest_obs is not None and (
        latest_end is None or (latest_obs[0], latest_obs[1]) > latest_end
    )
    return is_open, (latest_obs[2] if latest_obs is not None else None)


def figures_of(states: Iterable[tuple[bool, NormalizedPosting | None]]) -> Figures:
    """Market and per-role figures of a set of final posting states, in the stored-read shape."""
    seen = [p for _, p in states if p is not None]
    open_ = [p for is_open, p in states if is_open and p is not None]
    by_role: dict[str, list[NormalizedPosting]] = {}
    for p in open_:
        if p.role is not None:
            by_role.setdefault(p.role, []).append(p)
    market = {
        "seen": len(seen),
        "open_total": len(open_),
        "open_ai": sum(len(ps) for ps in by_role.values()),
        "roles": {role: len(ps) for role, ps in sorted(by_role.items())},
    }
    return {"market": market, "roles": {r: _role(ps) for r, ps in sorted(by_role.items())}}


def _role(postings: Sequence[NormalizedPosting]) -> Figures:
    def count(values: Iterable[str | None]) -> dict[str, int]:
        return dict(sorted(Counter(v for v in values if v).items()))

    paid = [p.salary for p in postings if p.salary is not None and IMPLAUSIBLE not in p.flags]
    salary: Figures = {"n": len(paid)}
    if paid:
        salary["avg_min"] = sum(s.annual_min_usd for s in paid) / len(paid)
        salary["avg_max"] = sum(s.annual_max_usd for s in paid) / len(paid)
        for basis in SalaryBasis:
            values = sorted(s.annual(basis) for s in paid)
            row = {name: linear_quantile(values, q) for name, q in QUANTILES.items()}
            salary[basis.value] = row | {"average": sum(values) / len(values)}
    return {
        "open": len(postings),
        "work_mode": count(p.work_mode.value for p in postings),
        "seniority": count(p.seniority.value for p in postings),
        "skills": count(s for p in postings for s in p.skills),
        "companies": count(p.company for p in postings),
        "metros": count(p.metro for p in postings),
        "salary": salary,
    }


def linear_quantile(values: Sequence[int], q: float) -> float:
    """numpy.quantile's default ("linear") over sorted `values`: interpolate order statistics."""
    h = (len(values) - 1) * q
    lo = int(h)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (h - lo) * (values[hi] - values[lo])
