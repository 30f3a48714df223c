"""Posting event v1: the contract between upstream scrapers and our consumers.

The committed JSON Schema (`posting-event-v1.schema.json`) is generated from these models by
`rolepulse export-schema`; a unit test fails when the two drift apart.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

SUPPORTED_VERSIONS = frozenset({1})

NonEmpty = Annotated[str, Field(min_length=1, max_length=2000)]


class _Model(BaseModel):
    # Later event versions add fields; v1 readers ignore what they do not know.
    model_config = ConfigDict(extra="ignore", frozen=True)


class SalaryV1(_Model):
    min: float | None = Field(default=None, ge=0)
    max: float | None = Field(default=None, ge=0)
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    period: Literal["year", "month", "week", "day", "hour"] = "year"


class PostingV1(_Model):
    source_id: NonEmpty
    url: str | None = None
    title: str | None = Field(default=None, max_length=2000)
    company: str | None = Field(default=None, max_length=2000)
    location: str | None = Field(default=None, max_length=2000)
    remote: bool | None = None
    description: str | None = Field(default=None, max_length=200_000)
    salary: SalaryV1 | None = None
    salary_text: str | None = Field(default=None, max_length=2000)
    seniority: str | None = Field(default=None, max_length=200)
    employment_type: str | None = Field(default=None, max_length=200)
    posted_at: AwareDatetime | None = None


class PostingEventV1(_Model):
    """One JSON object per Kafka message on topic `postings`, keyed "<source>:<source_id>"."""

    # The JSON Schema states the rule the model validator below enforces, so producers that only
    # read the schema file learn it too.
    model_config = ConfigDict(
        extra="ignore",
        frozen=True,
        json_schema_extra={
            "if": {"properties": {"event_type": {"const": "posting.observed"}}},
            "then": {
                "properties": {
                    "posting": {
                        "required": ["title", "company"],
                        "properties": {
                            "title": {"type": "string", "minLength": 1},
                            "company": {"type": "string", "minLength": 1},
                        },
                    }
                }
            },
        },
    )

    version: Literal[1]
    event_id: NonEmpty
    event_type: Literal["posting.observed", "posting.closed"]
    occurred_at: AwareDatetime
    source: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^:\s]+$")]
    posting: PostingV1
    # Optional on posting.closed. "expired" is what our sweeper emits: a conditional close that
    # applies only if the posting was not observed after `last_observed_at`.
    reason: Literal["filled", "removed", "expired"] | None = None
    last_observed_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _observed_needs_title_and_company(self) -> PostingEventV1:
        if self.event_type == "posting.observed":
            missing = [f for f in ("title", "company") if not getattr(self.posting, f)]
            if missing:
                raise ValueError(
                    f"posting.observed requires posting.{' and posting.'.join(missing)}"
                )
        if self.reason is not None and self.event_type != "posting.closed":
            raise ValueError("reason is only allowed on posting.closed")
        if self.reason == "expired" and self.last_observed_at is None:
            raise ValueError("reason 'expired' requires last_observed_at")
        return self

    @property
    def posting_key(self) -> str:
        return f"{self.source}:{self.posting.source_id}"
