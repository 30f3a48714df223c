"""Rows for `rolepulse normalize`: what the consumer would store for each input event."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from rolepulse.consumers.decode import PostingNormalizer, Rejected, decode
from rolepulse.domain.lifecycle import Closed, Expired


def normalize_lines(
    lines: Iterable[bytes], normalizer: PostingNormalizer
) -> Iterator[dict[str, Any]]:
    for raw in lines:
        if raw.strip():
            yield normalize_row(raw.strip(), normalizer)


def normalize_row(raw: bytes, normalizer: PostingNormalizer) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": _event_id(raw),
        "posting_key": None,
        "role": None,
        "seniority": None,
        "skills": [],
        "company": None,
        "metro": None,
        "work_mode": None,
        "salary": None,
        "error": None,
    }
    outcome = decode(raw, normalizer)
    if isinstance(outcome, Rejected):
        row["error"] = outcome.reason
        return row
    if isinstance(outcome, Closed | Expired):
        row["posting_key"] = outcome.posting_key
        return row
    p = outcome.posting
    row.update(
        posting_key=p.posting_key,
        role=p.role,
        seniority=p.seniority.value,
        skills=list(p.skills),
        company=p.company,
        metro=p.metro,
        work_mode=p.work_mode.value,
        salary=None
        if p.salary is None
        else {
            "min": p.salary.min,
            "max": p.salary.max,
            "currency": p.salary.currency,
            "period": p.salary.period,
            "annual_min_usd": p.salary.annual_min_usd,
            "annual_max_usd": p.salary.annual_max_usd,
            "source": p.salary.source,
        },
    )
    if p.flags:
        row["flags"] = list(p.flags)
    return row


def _event_id(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("event_id")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None
