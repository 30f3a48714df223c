"""Plain domain types shared by the consumer, the API and the tools.

Nothing here does I/O: normalization produces these values, aggregate math consumes them,
and storage adapters map them onto documents from the outside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal


class Seniority(StrEnum):
    ENTRY = "entry"
    MID = "mid"
    SENIOR = "senior"
    LEAD = "lead"
    EXECUTIVE = "executive"


class WorkMode(StrEnum):
    REMOTE = "remote"
    HYBRID = "hybrid"
    ONSITE = "onsite"
    UNKNOWN = "unknown"


class SalaryBasis(StrEnum):
    """Which end of a posting's annual range a salary figure is computed over."""

    MIN = "min"
    MAX = "max"
    MIDPOINT = "mid"


SalarySource = Literal["structured", "text", "description"]
SalaryPeriod = Literal["year", "month", "week", "day", "hour"]


@dataclass(frozen=True, slots=True)
class NormalizedSalary:
    """A posting's pay as published plus its annualized USD range.

    Annual figures are whole dollars so aggregate sums stay exact integers across any number of
    increments and decrements (float sums drift and would break recomputation checks).
    """

    min: float | None
    max: float | None
    currency: str
    period: SalaryPeriod
    annual_min_usd: int
    annual_max_usd: int
    source: SalarySource

    def annual(self, basis: SalaryBasis) -> int:
        if basis is SalaryBasis.MIN:
            return self.annual_min_usd
        if basis is SalaryBasis.MAX:
            return self.annual_max_usd
        # Midpoint rounds half up to a whole dollar; documented in the README.
        return (self.annual_min_usd + self.annual_max_usd + 1) // 2


@dataclass(frozen=True, slots=True)
class NormalizedPosting:
    """One posting after normalization: what every aggregate is computed from."""

    posting_key: str  # "<source>:<source_id>", also the Kafka message key
    source: str
    source_id: str
    title: str | None
    role: str | None  # role slug, or None when the posting is not an AI role
    seniority: Seniority
    skills: tuple[str, ...]  # canonical skill names, deduplicated, in first-seen order
    company: str | None  # canonical company name
    metro: str | None  # canonical metro name; None for remote-only or unknown
    work_mode: WorkMode
    salary: NormalizedSalary | None
    url: str | None = None
    posted_at: datetime | None = None
    flags: tuple[str, ...] = field(default=())  # e.g. "salary_implausible"
    # "<company>|<normalized title>|<metro or remote>": the same job on several boards shares it.
    cluster_key: str | None = None
