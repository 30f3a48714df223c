"""Deterministic event streams for the fault tests: a varied market, and poison messages.

Loaded by conftest.py (pytest's importlib mode makes sibling modules unimportable by name).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TITLES = [
    "Senior LLM Engineer", "AI Product Manager", "Machine Learning Engineer", "Data Scientist",
    "MLOps Engineer", "Research Scientist", "Prompt Engineer", "Staff AI Software Engineer",
    "Computer Vision Engineer", "NLP Engineer", "Junior Data Scientist", "Account Executive",
]  # fmt: skip
COMPANIES = ["Google LLC", "Amazon", "Accenture", "Acme Robotics", "Apple Inc."]
LOCATIONS = ["New York, NY", "San Francisco, CA", "Remote", "London, UK", "Austin, TX (Hybrid)"]
SKILL_TEXT = [
    "Python, PyTorch and RAG on AWS.",
    "Kubernetes, Docker, GCP.",
    "Rust and LLMs.",
    "SQL.",
]


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def observed(eid: str, sid: str, at: datetime, **posting: Any) -> bytes:
    body = {
        "title": "Senior LLM Engineer",
        "company": "Google LLC",
        "location": "New York, NY",
        "description": "Build RAG systems in Python on AWS.",
        "salary": {"min": 150000, "max": 210000, "currency": "USD", "period": "year"},
    }
    return _event(eid, "posting.observed", at, {"source_id": sid, **body, **posting})


def closed(eid: str, sid: str, at: datetime) -> bytes:
    return _event(eid, "posting.closed", at, {"source_id": sid})


def _event(eid: str, kind: str, at: datetime, posting: dict[str, Any]) -> bytes:
    body = {
        "version": 1, "event_id": eid, "event_type": kind, "occurred_at": _iso(at),
        "source": "greenhouse", "posting": posting,
    }  # fmt: skip
    return json.dumps(body, separators=(",", ":")).encode()


def _salary(rng: random.Random) -> dict[str, Any] | None:
    if rng.random() < 0.2:
        return None
    low = rng.randrange(80, 220) * 1000
    if rng.random() < 0.15:
        return {"min": low // 2000, "max": low // 1500, "currency": "USD", "period": "hour"}
    return {"min": low, "max": low + rng.randrange(10, 90) * 1000, "currency": "USD"}


def _posting(rng: random.Random) -> dict[str, Any]:
    return {
        "title": rng.choice(TITLES),
        "company": rng.choice(COMPANIES),
        "location": rng.choice(LOCATIONS),
        "description": rng.choice(SKILL_TEXT),
        "salary": _salary(rng),
    }


def market(
    seed: int, postings: int, prefix: str = "m", spread: timedelta | None = None
) -> list[bytes]:
    """A market's events: observations, updates, closes, out-of-order and repeated deliveries.

    Every posting's events have distinct times, so the final state is fixed by event time.
    `spread` is how far the postings' first observations range (default 2 hours).
    """
    rng = random.Random(seed)
    spread = spread or timedelta(hours=2)
    out: list[bytes] = []
    for i in range(postings):
        sid, at = f"{prefix}{i}", START + spread * (i / max(postings, 1))
        first = observed(f"{prefix}{i}-o1", sid, at, **_posting(rng))
        roll = rng.random()
        if roll < 0.05:  # a close that arrives before the posting's first observation
            out += [closed(f"{prefix}{i}-c", sid, at + timedelta(hours=3)), first]
            continue
        out.append(first)
        if roll < 0.30:  # re-observed with new data (salary, maybe role)
            update = observed(f"{prefix}{i}-o2", sid, at + timedelta(hours=1), **_posting(rng))
            out.append(update)
            if roll < 0.10:  # ... and the older observation delivered again after it
                out.append(first)
        elif roll < 0.45:
            out.append(closed(f"{prefix}{i}-c", sid, at + timedelta(hours=2)))
        elif roll < 0.52:  # an older observation delivered after a newer one
            newer = observed(f"{prefix}{i}-o0", sid, at + timedelta(minutes=30), **_posting(rng))
            out[-1:] = [newer, first]
    return out


def poison(prefix: str = "p") -> dict[str, bytes]:
    """One message per kind of bad input the consumer must dead-letter."""
    at = START
    base = json.loads(observed(f"{prefix}-x", f"{prefix}-x", at))
    missing = {k: v for k, v in base.items() if k != "occurred_at"}
    wrong = base | {"posting": base["posting"] | {"salary": {"min": "lots", "max": []}}}
    huge = base | {"event_id": f"{prefix}-huge", "posting": base["posting"] | {
        "description": "x" * 2_000_000}}  # fmt: skip
    return {
        "invalid_json": b'{"version": 1, "event_id": ',
        "unknown_version": json.dumps(base | {"version": 7, "event_id": f"{prefix}-v7"}).encode(),
        "missing_fields": json.dumps(missing | {"event_id": f"{prefix}-miss"}).encode(),
        "too_large": json.dumps(huge).encode(),
        "wrong_types": json.dumps(wrong | {"event_id": f"{prefix}-types"}).encode(),
    }
