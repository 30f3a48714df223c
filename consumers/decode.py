"""Turn raw Kafka message bytes into a lifecycle transition, or a reason to dead-letter them.

Pure: no I/O, and the clocks a check needs (the broker's timestamp, the wall clock) come in as
arguments. Every failure is a value carrying a human-readable reason, so the caller can route
the original bytes to the dead-letter topic and move on without blocking the partition.

Bounds are checked at this edge, before anything is stored, so that no accepted event can fail
later in the transaction (where it would stall its whole batch): size, nesting depth, text that
is not Unicode, numbers (schema/events.py bounds salaries), and times (years 2000..2999 in the
contract; here, nothing more than `max_skew` ahead of the broker's or the wall clock).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from rolepulse.domain.lifecycle import Closed, Expired, Observed, Transition
from rolepulse.domain.model import NormalizedPosting
from rolepulse.domain.normalize import NormalizationError
from rolepulse.schema.events import SUPPORTED_VERSIONS, PostingEventV1

# Real scrapers send a few KB; anything this large is a producer bug, not a posting.
MAX_MESSAGE_BYTES = 1_000_000
# An event nests 3 deep (event, posting, salary); later versions may add some. A bound checked
# before parsing: json.loads recurses, and 10,000 levels raise RecursionError from inside it.
MAX_DEPTH = 32
DEFAULT_MAX_SKEW = timedelta(hours=24)
# Reasons land in headers, logs and the rejects collection: bounded, whatever the input echoes.
MAX_REASON_CHARS = 500

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
# Error types of schema/events.py that name a bound rather than a malformed event.
_PREFIX_OF_ERROR = {
    "implausible_time": "implausible_time",
    "finite_number": "implausible_salary",
    "less_than_equal": "implausible_salary",
}


class PostingNormalizer(Protocol):
    def normalize(self, event: PostingEventV1) -> NormalizedPosting: ...

    def cluster_key(self, posting: NormalizedPosting) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str  # stable prefix ("invalid_json: ...", "unsupported_version: ...") for metrics


@dataclass(frozen=True, slots=True)
class Accepted:
    transition: Transition
    # sha256 hex of the event's canonical JSON: a redelivery has the same one, a different event
    # reusing an applied event id does not.
    digest: str


def decode(
    raw: bytes | None,
    normalizer: PostingNormalizer,
    *,
    broker_time: datetime | None = None,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Transition | Rejected:
    """`decode_message` for callers that need no digest."""
    outcome = decode_message(raw, normalizer, broker_time=broker_time, now=now, max_skew=max_skew)
    return outcome.transition if isinstance(outcome, Accepted) else outcome


def decode_message(
    raw: bytes | None,
    normalizer: PostingNormalizer,
    *,
    broker_time: datetime | None = None,
    now: datetime | None = None,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Accepted | Rejected:
    """Decode one message; times more than `max_skew` ahead of a given clock are rejected.

    `broker_time` is the Kafka message timestamp and `now` the wall clock; either may be None
    (tools replaying files), which skips that comparison.
    """
    data = _parse(raw)
    if isinstance(data, Rejected):
        return data
    version = data.get("version")
    # `type(...) is int`: true and 1.0 equal 1 in Python, and neither is a version.
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        known = ", ".join(str(v) for v in sorted(SUPPORTED_VERSIONS))
        return _reject("unsupported_version", f"{version!r} (this consumer knows {known})")
    try:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode()).hexdigest()
    except UnicodeEncodeError as exc:
        # "\ud800" is valid JSON syntax but no text: MongoDB cannot store it (RFC 8259 §8.2).
        return _reject("invalid_text", f"a string holds an unpaired surrogate ({exc.reason})")
    try:
        event = PostingEventV1.model_validate(data)
    except ValidationError as exc:
        return _reject(_prefix(exc), _summarize(exc))
    late = _too_far_ahead(event, broker_time, now, max_skew)
    if late is not None:
        return _reject("implausible_time", late)
    transition = _transition(event, normalizer)
    if isinstance(transition, Rejected):
        return transition
    return Accepted(transition, digest)


def _parse(raw: bytes | None) -> dict[str, Any] | Rejected:
    if raw is None:
        return _reject("empty_message", "message has no value")
    if len(raw) > MAX_MESSAGE_BYTES:
        return _reject("too_large", f"{len(raw)} bytes exceeds the {MAX_MESSAGE_BYTES} byte limit")
    try:
        # UTF-8 only, as RFC 8259 requires between systems (json.loads would guess UTF-16/32).
        text = raw.decode()
    except UnicodeDecodeError as exc:
        return _reject("invalid_json", f"not UTF-8: {exc.reason} at byte {exc.start}")
    if too_deep(text, MAX_DEPTH):
        return _reject("too_deep", f"nesting deeper than {MAX_DEPTH} levels")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, >4300-digit ints
        return _reject("invalid_json", str(exc))
    if not isinstance(data, dict):
        return _reject("invalid_event", f"expected a JSON object, got {type(data).__name__}")
    return data


def too_deep(text: str, limit: int) -> bool:
    """Whether JSON `text` nests brackets more than `limit` levels deep.

    Brackets inside strings do not count. Linear and without recursion, whatever the input.
    """
    if text.count("[") + text.count("{") <= limit:  # the common case, in C
        return False
    depth = 0
    for ch in _NOT_BRACKETS.sub("", _STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        if depth > limit:
            return True
    return False


def _no_constant(name: str) -> Any:
    # json.loads takes NaN and Infinity, which JSON (and the schema) do not have.
    raise ValueError(f"{name} is not a JSON value")


def _too_far_ahead(
    event: PostingEventV1,
    broker_time: datetime | None,
    now: datetime | None,
    max_skew: timedelta,
) -> str | None:
    """Why a time of `event` is implausibly far in the future, or None.

    Every time of the event is checked, not only occurred_at: a future posted_at or
    last_observed_at would be stored and shown as if real.
    """
    clocks = {"broker timestamp": broker_time, "wall clock": now}
    times = {
        "occurred_at": event.occurred_at,
        "posting.posted_at": event.posting.posted_at,
        "last_observed_at": event.last_observed_at,
    }
    for field, at in times.items():
        for clock_name, clock in clocks.items():
            if at is not None and clock is not None and at - clock > max_skew:
                return (
                    f"{field} {at.isoformat()} is {at - clock} ahead of the {clock_name} "
                    f"{clock.isoformat()} (at most {max_skew})"
                )
    return None


def _transition(event: PostingEventV1, normalizer: PostingNormalizer) -> Transition | Rejected:
    occurred_at = _millis(event.occurred_at)
    if event.reason == "expired" and event.last_observed_at is not None:
        observed = _millis(event.last_observed_at)
        return Expired(event.event_id, occurred_at, event.posting_key, observed)
    if event.event_type == "posting.closed":
        return Closed(event.event_id, occurred_at, event.posting_key)
    try:
        posting = normalizer.normalize(event)
    except NormalizationError as exc:
        return _reject("normalization_failed", str(exc))
    posted_at = None if posting.posted_at is None else _millis(posting.posted_at)
    posting = replace(posting, cluster_key=normalizer.cluster_key(posting), posted_at=posted_at)
    return Observed(event.event_id, occurred_at, posting)


def _millis(at: datetime) -> datetime:
    # MongoDB keeps milliseconds in UTC; truncating here makes a state read back equal the one
    # written, so event-time comparisons give the same answer before and after a round trip.
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


def _reject(prefix: str, detail: str) -> Rejected:
    return Rejected(f"{prefix}: {safe_text(detail)}")


def safe_text(text: str, limit: int = MAX_REASON_CHARS) -> str:
    """`text` cut to `limit` characters and made encodable (headers, BSON need valid UTF-8)."""
    cut = text if len(text) <= limit else text[:limit] + "..."
    return cut.encode("utf-8", "backslashreplace").decode()


def _prefix(exc: ValidationError) -> str:
    for err in exc.errors(include_url=False):
        prefix = _PREFIX_OF_ERROR.get(err["type"])
        if prefix is not None:
            return prefix
    return "invalid_event"


def _summarize(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "event"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
