"""Posting event v1: the contract between upstream scrapers and our consumers.

The committed JSON Schema (`posting-event-v1.schema.json`) is generated from these models by
`rolepulse export-schema`; a unit test fails when the two drift apart.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    model_validator,
)
from pydantic_core import PydanticCustomError

SUPPORTED_VERSIONS = frozenset({1})

NonEmpty = Annotated[str, Field(min_length=1, max_length=2000)]

# Per period, published: above it no figure is pay, and every annualized amount (x2080 hourly,
# times any FX rate) stays far inside MongoDB's 64-bit integers.
MAX_SALARY_AMOUNT = 1_000_000_000
# RFC 3339 as the JSON Schema's "date-time" means it, restricted to years 2000..2999: no real
# posting is older, and every date arithmetic (UTC conversion, expiry windows, skew) stays far
# from datetime's year-9999 ceiling. Lax parsing would take "1700000000" as a Unix time.
EVENT_TIME_PATTERN = (
    r"^2[0-9]{3}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)
_EVENT_TIME = re.compile(EVENT_TIME_PATTERN)
_YEAR = re.compile(r"^[0-9]+")


def _event_time_text(value: object) -> object:
    """Only an RFC 3339 string in the plausible years is a time; the contract says "string"."""
    if not isinstance(value, str):
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 date-time string")
    if _EVENT_TIME.match(value):
        return value
    year = _YEAR.match(value)
    if year and value[year.end() : year.end() + 1] == "-" and not 2000 <= int(year[0][:5]) <= 2999:
        # A date of another era gets the reason metrics count as implausible.
        raise PydanticCustomError(
            "implausible_time", "year {year} is outside 2000..2999", {"year": year[0][:8]}
        )
    raise PydanticCustomError(
        "datetime_format",
        "Input should be an RFC 3339 date-time with a timezone, like 2026-11-01T10:00:00Z",
    )


EventTime = Annotated[
    AwareDatetime,
    BeforeValidator(_event_time_text),
    Field(json_schema_extra={"pattern": EVENT_TIME_PATTERN}),
]
# Strict where the JSON Schema is: "5" is not a number and "yes" or 1 is not a boolean.
Amount = Annotated[float, Strict(), Field(ge=0, le=MAX_SALARY_AMOUNT, allow_inf_nan=False)]
Flag = Annotated[bool, Strict()]


def _integer(value: object) -> object:
    # A Literal cannot be strict in pydantic, and lax it takes true and 1.0 for 1.
    if type(value) is not int:
        raise PydanticCustomError("int_type", "Input should be an integer")
    return value


class _Model(BaseModel):
    # Later event versions add fields; v1 readers ignore what they do not know.
    model_config = ConfigDict(extra="ignore", frozen=True)


class SalaryV1(_Model):
    min: Amount | None = None
    max: Amount | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    period: Literal["year", "month", "week", "day", "hour"] = "year"


class PostingV1(_Model):
    source_id: NonEmpty
    url: str | None = Field(default=None, max_length=2000)
    title: str | None = Field(default=None, max_length=2000)
    company: str | None = Field(default=None, max_length=2000)
    location: str | None = Field(default=None, max_length=2000)
    remote: Flag | None = None
    description: str | None = Field(default=None, max_length=200_000)
    salary: SalaryV1 | None = None
    salary_text: str | None = Field(default=None, max_length=2000)
    seniority: str | None = Field(default=None, max_length=200)
    employment_type: str | None = Field(default=None, max_length=200)
    posted_at: EventTime | None = None


class PostingEventV1(_Model):
    """One JSON object per Kafka message on topic `postings`, keyed "<source>:<source_id>"."""

    # The JSON Schema states the rule the model validator below enforces, so producers that only
    # read the schema file learn it too. A company is optional: boards publish postings without
    # one ("Confidential", a staffing agency's client), and such a posting still counts in its
    # role (it joins no company figure and no cross-board cluster).
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "if": {"properties": {"event_type": {"const": "posting.observed"}}},
            "then": {
                "properties": {
                    "posting": {
                        "required": ["title"],
                        "properties": {"title": {"type": "string", "minLength": 1}},
                    }
                }
            },
        },
    )

    version: Annotated[Literal[1], BeforeValidator(_integer)]
    event_id: NonEmpty
    event_type: Literal["posting.observed", "posting.closed"]
    occurred_at: EventTime
    source: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^:\s]+$")]
    posting: PostingV1
    # Optional on posting.closed. "expired" is what our sweeper emits: a conditional close that
    # applies only if the posting was not observed after `last_observed_at`.
    reason: Literal["filled", "removed", "expired"] | None = None
    last_observed_at: EventTime | None = None

    @model_validator(mode="after")
    def _observed_needs_a_title(self) -> PostingEventV1:
        if self.event_type == "posting.observed" and not self.posting.title:
            raise ValueError("posting.observed requires posting.title")
        if self.reason is not None and self.event_type != "posting.closed":
            raise ValueError("reason is only allowed on posting.closed")
        if self.reason == "expired" and self.last_observed_at is None:
            raise ValueError("reason 'expired' requires last_observed_at")
        return self

    @property
    def posting_key(self) -> str:
        return f"{self.source}:{self.posting.source_id}"
