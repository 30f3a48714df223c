"""Map domain posting states to stored documents and back (shapes in schema/documents.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import (
    NormalizedPosting,
    NormalizedSalary,
    Seniority,
    WorkMode,
)
from rolepulse.schema.documents import PostingDoc, SalaryDoc


def state_to_doc(state: PostingState) -> PostingDoc:
    p = state.posting
    source, _, source_id = state.posting_key.partition(":")
    return PostingDoc(
        _id=state.posting_key,
        source=p.source if p else source,
        source_id=p.source_id if p else source_id,
        open=state.open,
        has_data=p is not None,
        title=p.title if p else None,
        role=p.role if p else None,
        seniority=(p.seniority if p else Seniority.MID).value,
        skills=list(p.skills) if p else [],
        company=p.company if p else None,
        metro=p.metro if p else None,
        work_mode=(p.work_mode if p else WorkMode.UNKNOWN).value,
        salary=_salary_doc(p.salary) if p and p.salary else None,
        url=p.url if p else None,
        posted_at=p.posted_at if p else None,
        flags=list(p.flags) if p else [],
        first_seen_at=state.first_seen_at,
        last_event_at=state.last_event_at,
        last_event_id=state.last_event_id,
        last_observed_at=state.last_observed_at,
        closed_reason=state.closed_reason,
        cluster_key=p.cluster_key if p else None,
        cluster_id=state.cluster_id,
    )


def doc_to_state(doc: Mapping[str, Any]) -> PostingState:
    posting = None
    if doc["has_data"]:
        salary = doc.get("salary")
        posting = NormalizedPosting(
            posting_key=doc["_id"],
            source=doc["source"],
            source_id=doc["source_id"],
            title=doc.get("title"),
            role=doc.get("role"),
            seniority=Seniority(doc["seniority"]),
            skills=tuple(doc.get("skills", ())),
            company=doc.get("company"),
            metro=doc.get("metro"),
            work_mode=WorkMode(doc["work_mode"]),
            salary=_salary(salary) if salary else None,
            url=doc.get("url"),
            posted_at=_utc(doc.get("posted_at")),
            flags=tuple(doc.get("flags", ())),
            cluster_key=doc.get("cluster_key"),
        )
    return PostingState(
        posting_key=doc["_id"],
        posting=posting,
        open=bool(doc["open"]),
        last_event_at=as_utc(doc["last_event_at"]),
        last_event_id=doc["last_event_id"],
        first_seen_at=as_utc(doc["first_seen_at"]),
        last_observed_at=_utc(doc.get("last_observed_at")),
        closed_reason=doc.get("closed_reason"),
        cluster_id=doc.get("cluster_id"),
    )


def _salary_doc(s: NormalizedSalary) -> SalaryDoc:
    return SalaryDoc(
        min=s.min,
        max=s.max,
        currency=s.currency,
        period=s.period,
        annual_min_usd=s.annual_min_usd,
        annual_max_usd=s.annual_max_usd,
        source=s.source,
    )


def _salary(d: Mapping[str, Any]) -> NormalizedSalary:
    return NormalizedSalary(
        min=d.get("min"),
        max=d.get("max"),
        currency=d["currency"],
        period=d["period"],
        annual_min_usd=int(d["annual_min_usd"]),
        annual_max_usd=int(d["annual_max_usd"]),
        source=d["source"],
    )


# MongoDB stores datetimes as UTC milliseconds and returns them naive unless the client is
# tz-aware; normalize so states read back compare equal to the ones written.
def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
