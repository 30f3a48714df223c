"""One test per rule of consumers/decode.py: what is accepted, and the reason of each reject."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rolepulse.consumers.decode import (
    MAX_DEPTH,
    MAX_MESSAGE_BYTES,
    Accepted,
    Rejected,
    decode,
    decode_message,
    too_deep,
)
from rolepulse.domain.lifecycle import Closed, Expired, Observed
from rolepulse.domain.normalize import Normalizer
from rolepulse.taxonomy import load_taxonomy

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer(load_taxonomy())


def event(**over: Any) -> dict[str, Any]:
    """A valid observation; `posting_<field>=` overrides a posting field."""
    posting: dict[str, Any] = {
        "source_id": "1",
        "title": "Senior LLM Engineer",
        "company": "Acme",
        "remote": True,
        "salary": {"min": 150_000, "max": 210_000, "currency": "USD", "period": "year"},
        "posted_at": "2026-11-20T09:30:00.123456+02:00",
    }
    body: dict[str, Any] = {
        "version": 1,
        "event_id": "e1",
        "event_type": "posting.observed",
        "occurred_at": "2026-11-25T10:00:00Z",
        "source": "greenhouse",
    }
    for key, value in over.items():
        if key.startswith("posting_"):
            posting[key.removeprefix("posting_")] = value
        else:
            body[key] = value
    return body | {"posting": posting}


def raw(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def reason(out: Accepted | Rejected) -> str:
    assert isinstance(out, Rejected), f"accepted: {out}"
    return out.reason


def run(data: bytes | None, normalizer: Normalizer, **clocks: Any) -> Accepted | Rejected:
    return decode_message(data, normalizer, **({"broker_time": NOW, "now": NOW} | clocks))


def test_a_valid_observation_is_accepted_with_times_in_utc_milliseconds(
    normalizer: Normalizer,
) -> None:
    out = run(raw(event()), normalizer)
    assert isinstance(out, Accepted)
    assert isinstance(out.transition, Observed)
    assert out.transition.occurred_at == datetime(2026, 11, 25, 10, tzinfo=UTC)
    # Stored in UTC milliseconds, so the state read back compares equal to the one written.
    assert out.transition.posting.posted_at == datetime(2026, 11, 20, 7, 30, 0, 123000, UTC)


def test_closes_and_expiries_are_accepted(normalizer: Normalizer) -> None:
    closed = {**event(event_type="posting.closed"), "posting": {"source_id": "1"}}
    expired = closed | {"reason": "expired", "last_observed_at": "2026-10-01T00:00:00Z"}
    assert isinstance(decode(raw(closed), normalizer, now=NOW), Closed)
    assert isinstance(decode(raw(expired), normalizer, now=NOW), Expired)


def test_digest_is_the_sha256_of_the_canonical_json(normalizer: Normalizer) -> None:
    body = event()
    out = run(raw(body), normalizer)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert isinstance(out, Accepted)
    assert out.digest == hashlib.sha256(canonical.encode()).hexdigest()
    # Key order and whitespace are not content; a changed field is.
    reordered = json.dumps(dict(reversed(body.items())), indent=2).encode()
    assert getattr(run(reordered, normalizer), "digest", None) == out.digest
    changed = run(raw(event(posting_title="Staff LLM Engineer")), normalizer)
    assert getattr(changed, "digest", None) not in (None, out.digest)


def test_empty_message(normalizer: Normalizer) -> None:
    assert reason(run(None, normalizer)).startswith("empty_message: ")


def test_too_large(normalizer: Normalizer) -> None:
    big = raw(event(posting_description="x" * MAX_MESSAGE_BYTES))
    assert reason(run(big, normalizer)).startswith("too_large: ")


def test_not_utf8(normalizer: Normalizer) -> None:
    assert reason(run(json.dumps(event()).encode("utf-16"), normalizer)).startswith(
        "invalid_json: not UTF-8"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 10_000 + b"]" * 10_000,  # json.loads would raise RecursionError
        b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        raw(event(extra=json.loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)))),
        b"[" * 10_000,  # never closed: still too deep, not a crash
    ],
)
def test_too_deep(data: bytes, normalizer: Normalizer) -> None:
    assert reason(run(data, normalizer)).startswith("too_deep: ")


def test_depth_counts_brackets_outside_strings_only(normalizer: Normalizer) -> None:
    nested = json.loads("[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2))
    ok = raw(event(extra=nested, posting_description='[{"\\"' * 5_000))
    assert isinstance(run(ok, normalizer), Accepted)
    assert not too_deep('["[[[[", "]]]]"]', 1)
    assert too_deep("[[]]", 1)


@pytest.mark.parametrize(
    "data",
    [
        b'{"version": 1, "event_id": ',
        raw(event()).replace(b'"min": 150000', b'"min": NaN'),
        raw(event()).replace(b'"min": 150000', b'"min": -Infinity'),
        raw(event()).replace(b'"min": 150000', b'"min": ' + b"1" * 5_000),  # int digit limit
    ],
)
def test_invalid_json(data: bytes, normalizer: Normalizer) -> None:
    assert reason(run(data, normalizer)).startswith("invalid_json: ")


def test_not_an_object(normalizer: Normalizer) -> None:
    assert reason(run(b"[1, 2]", normalizer)).startswith("invalid_event: expected a JSON object")


@pytest.mark.parametrize("version", [7, True, 1.0, "1", None])
def test_unsupported_version(version: object, normalizer: Normalizer) -> None:
    assert reason(run(raw(event(version=version)), normalizer)).startswith("unsupported_version: ")


def test_unpaired_surrogate_is_invalid_text(normalizer: Normalizer) -> None:
    data = raw(event(posting_title="LLM \ud800 Engineer"))  # json.dumps escapes it as \ud800
    assert reason(run(data, normalizer)).startswith("invalid_text: ")


@pytest.mark.parametrize(
    ("salary", "prefix"),
    [
        ({"min": 1e30, "max": 1e30}, "implausible_salary: "),  # an int64 overflow once stored
        ({"min": 10**30}, "implausible_salary: "),
        ({"max": 1_000_000_001}, "implausible_salary: "),
        ({"min": -1}, "invalid_event: "),
    ],
)
def test_salary_amounts_are_bounded(
    salary: dict[str, Any], prefix: str, normalizer: Normalizer
) -> None:
    assert reason(run(raw(event(posting_salary=salary)), normalizer)).startswith(prefix)


def test_salary_of_1e400_is_infinity_and_rejected(normalizer: Normalizer) -> None:
    data = raw(event()).replace(b'"min": 150000', b'"min": 1e400')
    assert reason(run(data, normalizer)) == (
        "implausible_salary: posting.salary.min: Input should be a finite number"
    )


def test_salary_at_the_bound_is_accepted_and_flagged(normalizer: Normalizer) -> None:
    out = run(raw(event(posting_salary={"min": 1e9, "period": "hour"})), normalizer)
    assert isinstance(out, Accepted)
    assert isinstance(out.transition, Observed)
    assert out.transition.posting.flags == ("salary_implausible",)


def test_unstorable_pay_in_text_is_no_salary(normalizer: Normalizer) -> None:
    data = raw(event(posting_salary=None, posting_salary_text="$" + "9" * 400))
    out = run(data, normalizer)
    assert isinstance(out, Accepted)
    assert isinstance(out.transition, Observed)
    assert out.transition.posting.salary is None


@pytest.mark.parametrize(
    "over",
    [
        {"occurred_at": 1_700_000_000},  # the contract says RFC 3339 string
        {"occurred_at": "1700000000"},  # lax parsing reads it as a Unix time
        {"occurred_at": "2026-11-25T10:00:00"},  # no timezone
        {"posting_remote": "yes"},
        {"posting_remote": "true"},
        {"posting_remote": 1},
        {"posting_salary": {"min": "5"}},
        {"posting_salary": {"min": True}},
    ],
)
def test_strict_types_where_the_contract_is_strict(
    over: dict[str, Any], normalizer: Normalizer
) -> None:
    assert reason(run(raw(event(**over)), normalizer)).startswith("invalid_event: ")


@pytest.mark.parametrize(
    "over",
    [
        {"occurred_at": "9999-12-31T23:00:00-05:00"},  # UTC conversion overflows
        {"occurred_at": "1999-12-31T23:59:59Z"},
        {"posting_posted_at": "9999-12-31T23:00:00-05:00"},
        {"posting_posted_at": "0001-01-01T00:00:00Z"},
    ],
)
def test_years_outside_2000_to_2999_are_implausible(
    over: dict[str, Any], normalizer: Normalizer
) -> None:
    assert reason(run(raw(event(**over)), normalizer)).startswith("implausible_time: ")


def test_expiry_with_year_9999_last_observation_is_implausible(normalizer: Normalizer) -> None:
    body = {**event(event_type="posting.closed"), "posting": {"source_id": "1"}}
    body |= {"reason": "expired", "last_observed_at": "9999-12-31T23:00:00-05:00"}
    assert reason(run(raw(body), normalizer)).startswith("implausible_time: ")


@pytest.mark.parametrize(
    ("over", "clocks", "ahead_of"),
    [
        ({"occurred_at": "2026-11-26T13:00:00Z"}, {}, "broker timestamp"),
        ({"occurred_at": "2026-11-26T13:00:00Z"}, {"broker_time": None}, "wall clock"),
        # A producer's CreateTime can be anything: the wall clock still bounds the event.
        ({"occurred_at": "2026-11-30T00:00:00Z"}, {"broker_time": NOW + timedelta(days=9)}, "wall"),
        ({"posting_posted_at": "2026-12-25T00:00:00Z"}, {}, "broker timestamp"),
    ],
)
def test_times_ahead_of_the_clocks_by_more_than_the_skew_are_implausible(
    over: dict[str, Any], clocks: dict[str, Any], ahead_of: str, normalizer: Normalizer
) -> None:
    why = reason(run(raw(event(**over)), normalizer, **clocks))
    assert why.startswith("implausible_time: ")
    assert f"ahead of the {ahead_of}" in why


def test_skew_is_configurable_and_absent_clocks_are_not_compared(normalizer: Normalizer) -> None:
    ahead = raw(event(occurred_at="2026-11-26T11:00:00Z"))  # 23 h ahead
    assert isinstance(run(ahead, normalizer), Accepted)
    short = run(ahead, normalizer, max_skew=timedelta(hours=1))
    assert reason(short).startswith("implausible_time: ")
    assert isinstance(decode_message(ahead, normalizer, max_skew=timedelta(0)), Accepted)


def test_contract_violations_keep_the_invalid_event_prefix(normalizer: Normalizer) -> None:
    body = event()
    del body["occurred_at"]
    assert reason(run(raw(body), normalizer)).startswith("invalid_event: occurred_at")


def test_reasons_are_bounded_and_encodable(normalizer: Normalizer) -> None:
    why = reason(run(raw(event(version="\ud800" * 10_000)), normalizer))
    assert len(why) < 1_000
    why.encode()  # headers and BSON need valid UTF-8
