"""Turn raw Kafka message bytes into a lifecycle transition, or a reason to dead-letter them.

Pure: no I/O. Every failure is a value carrying a human-readable reason, so the caller can route
the original bytes to the dead-letter topic and move on without blocking the partition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError

from rolepulse.domain.lifecycle import Closed, Expired, Observed, Transition
from rolepulse.domain.model import NormalizedPosting
from rolepulse.domain.normalize import NormalizationError
from schema.events import SUPPORTED_VERSIONS, PostingEventV1

# Real scrapers send a few KB; anything this large is a producer bug, not a posting.
MAX_MESSAGE_BYTES = 1_000_000


class PostingNormalizer(Protocol):
    def normalize(self, event: PostingEventV1) -> NormalizedPosting: ...

    def cluster_key(self, posting: NormalizedPosting) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str  # stable prefix ("invalid_json: ...", "unsupported_version: ...") for metrics


def decode(raw: bytes | None, normalizer: PostingNormalizer) -> Transition | Rejected:
    if raw is None:
        return Rejected("empty_message: message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        return Rejected(f"too_large: {len(raw)} bytes exceeds the {MAX_MESSAGE_BYTES} byte limit")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Rejected(f"invalid_json: {exc}")
    if not isinstance(data, dict):
        return Rejected(f"invalid_event: expected a JSON object, got {type(data).__name__}")
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS:
        known = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
        return Rejected(f"unsupported_version: {version!r} (this consumer knows {known})")
    try:
        event = PostingEventV1.model_validate(data)
    except ValidationError as exc:
        return Rejected(f"invalid_event: {_summarize(exc)}")
    occurred_at = _millis(event.occurred_at)
    if event.reason == "expired" and event.last_observed_at is not None:
        observed = _millis(event.last_observed_at)
        return Expired(event.event_id, occurred_at, event.posting_key, observed)
    if event.event_type == "posting.closed":
        return Closed(event.event_id, occurred_at, event.posting_key)
    try:
        posting = normalizer.normalize(event)
    except NormalizationError as exc:
        return Rejected(f"normalization_failed: {exc}")
    posting = replace(posting, cluster_key=normalizer.cluster_key(posting))
    return Observed(event.event_id, occurred_at, posting)


def _millis(at: datetime) -> datetime:
    # MongoDB keeps milliseconds; truncating here makes a state read back equal the one written,
    # so event-time comparisons give the same answer before and after a round trip.
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


def _summarize(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
