"""Shapes of the documents stored in MongoDB, shared by the consumer (writer) and the API (reader).

Collections (database `rolepulse` by default):
- `postings`: one document per posting key "<source>:<source_id>" (`PostingDoc`).
- `role_aggregates`: one document per role slug (`RoleAggregateDoc`), counters of the open set.
- `market_aggregates`: one document `_id: "market"` (`MarketAggregateDoc`).
- `role_weekly`: one document per role and ISO week of event time, `_id: "<role>|<YYYY-Www>"`
  (`RoleWeeklyDoc`): the role's counters as of the end of that week.
- `role_weekly_index`: per role, the ISO weeks it has a `role_weekly` document for
  (`WeekIndexDoc`), so that a trend reads only the weekly documents of its window.
- `role_cells`, `role_skills`, `role_totals`: the rollups filtered figures are read from
  (`RollupDoc`; rolepulse/domain/rollups.py): per role and metro, per role and skill, per role.
- `consumer_offsets`: `_id: "<topic>|<partition>"` (`OffsetDoc`): written in the same transaction
  as the batch it covers; the minimum `max_event_at` over partitions is the stream's watermark.
- `rejects`: events the consumer could not accept, with the reason (mirrors `postings.dlq`).

Counter maps key display names through `rolepulse.domain.aggregates.encode_key` ('.', '$', '%'
escaped). Salary histograms are keyed by whole annual USD dollars as decimal strings.
"""

from __future__ import annotations

from datetime import datetime
from typing import NotRequired, TypedDict

# `data_version` collection: one document, bumped by every batch that changes a figure; the API
# keys its response cache on it.
DATA_VERSION_COLLECTION = "data_version"
DATA_VERSION_ID = "aggregates"


class SalaryDoc(TypedDict):
    min: float | None
    max: float | None
    currency: str
    period: str
    annual_min_usd: int
    annual_max_usd: int
    source: str


class PostingDoc(TypedDict):
    _id: str  # posting key
    source: str
    source_id: str
    open: bool
    has_data: bool  # False for a close seen before any observation
    title: str | None
    role: str | None
    seniority: str
    skills: list[str]
    company: str | None
    metro: str | None
    work_mode: str
    salary: SalaryDoc | None
    url: str | None
    posted_at: datetime | None
    flags: list[str]
    first_seen_at: datetime
    last_event_at: datetime
    last_event_id: str
    cluster_key: str | None  # company|normalized title|metro, shared by one job's boards
    cluster_id: str | None  # the cluster it counts in: the posting key of its first member
    # "<cluster_key>#<30-day bucket of first_seen_at>": where cluster candidates are looked up
    cluster_slot: NotRequired[str]
    last_observed_at: datetime | None  # what expiry is measured from
    closed_reason: str | None  # "closed" | "expired" | None while open
    # Whether the aggregates count this posting's job through it (its cluster's representative;
    # rolepulse/domain/clusters.py): figures computed from postings read only these. Written by
    # the store beside the state; absent on postings an older consumer wrote.
    counted: NotRequired[bool]
    # The posting's latest applied events, oldest first (at most 64): a redelivery is
    # recognised by its id, a different event reusing an id by its digest.
    events: NotRequired[list[AppliedEventDoc]]  # written by the store beside the state


class AppliedEventDoc(TypedDict):
    id: str  # event_id
    h: str | None  # sha256 of the event's canonical JSON
    at: datetime  # occurred_at


class RoleSalaryDoc(TypedDict, total=False):
    n: int
    sum_min: int
    sum_max: int
    sum_mid: int
    hist_min: dict[str, int]
    hist_max: dict[str, int]
    hist_mid: dict[str, int]


class RoleAggregateDoc(TypedDict, total=False):
    _id: str  # role slug
    open: int
    work_mode: dict[str, int]  # remote | hybrid | onsite | unknown
    seniority: dict[str, int]  # entry | mid | senior | lead | executive
    skills: dict[str, int]
    companies: dict[str, int]
    metros: dict[str, int]
    salary: RoleSalaryDoc


class MarketAggregateDoc(TypedDict, total=False):
    _id: str  # "market"
    seen: int  # distinct jobs (cross-board clusters) with data, open or not, AI or not
    postings: int  # board postings with data, before cross-board deduplication
    open_total: int  # open postings, AI or not
    open_ai: int  # open postings with an AI role
    roles: dict[str, int]  # open postings per role slug


class RoleWeeklyDoc(RoleAggregateDoc, total=False):
    role: str
    week: str  # ISO week "YYYY-Www"; labels sort chronologically as strings
    week_start: datetime  # its Monday, 00:00 UTC


# `role_weekly_index`: one `WeekIndexDoc` per role (`_id`: its slug), written in the transaction
# of every batch that creates a weekly document, and one document `_id: WEEK_INDEX_COMPLETE`
# once the lists account for all of `role_weekly` (the consumer's `ensure_indexes` lists the
# weeks written before the index existed). Readers trust the lists only when it is there.
ROLE_WEEKLY_INDEX = "role_weekly_index"
WEEK_INDEX_COMPLETE = "*complete"  # no role slug: slugs are lowercase words and dashes


class WeekIndexDoc(TypedDict):
    _id: str  # the role slug
    weeks: list[str]  # ISO weeks "YYYY-Www" with a `role_weekly` document, ascending


class RollupDoc(TypedDict, total=False):
    """A rollup: a figure set (role-document shape plus `company_pay`, `first_seen`,
    `salary_source`) as one compact JSON string, `c`, which no server reads into: the consumer
    replaces whole documents, and SecantusDB's cost grows with BSON fields, not string length.
    In `role_cells` the figure sets sit under "<seniority>|<work mode>" keys, one per sub-cell.
    """

    _id: str  # "<role>|<metro or ''>", "<role>|<skill>" or "<role>"
    role: str
    metro: str | None  # role_cells only
    skill: str  # role_skills only
    c: str  # JSON counters, names escaped as in every counter map (encode_key)


class OffsetDoc(TypedDict, total=False):
    _id: str  # "<topic>|<partition>"
    topic: str
    partition: int
    next_offset: int  # how far this database has applied the partition
    max_event_at: datetime  # the latest feed event time applied from it
