"""GraphQL's `PostingFilter` input and the Seniority / WorkMode enums, and their mapping onto the
domain filter (rolepulse.domain.filters). Resolving names against what exists happens where the
names are known (taxonomy metros, stored companies and skills); this module only shapes input.
"""

from __future__ import annotations

import strawberry

from rolepulse.domain.filters import MAX_POSTED_WITHIN_DAYS
from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.services.graphql.errors import BadInputError, echo

SeniorityEnum = strawberry.enum(
    Seniority, name="Seniority", description="Seniority level read from a posting's title."
)
WorkModeEnum = strawberry.enum(
    WorkMode,
    name="WorkMode",
    description="Where the work happens, as the posting states it; UNKNOWN when it does not.",
)

MAX_FILTER_VALUES = 50  # per dimension: a filter is a question, not a data dump
MAX_NAME_LENGTH = 200

# Query cost (services/graphql/cost.py) of one role's figures under a filter, by what answers it
# (rolepulse/domain/rollups.py). Cells: a few rollup documents summed, about what the rest of a
# role's fields cost. Postings: up to MAX_POSTINGS_READ postings read (~0.5 s on SecantusDB),
# priced at a fifth of the default budget so a client's bucket pays for two a second at most.
# One skill alone comes from its rollup, but its company figures read postings: priced as those,
# since the price is set before the query runs, not by which fields it selects.
CELLS_FILTER_COST = 10
POSTINGS_FILTER_COST = 1_000
_CELL_INPUTS = frozenset({"metros", "seniorities", "workModes"})


def filter_price(value: object) -> int:
    """Points a `filter` argument adds to one role, from its value as the request gives it
    (a dict of GraphQL field names, or None)."""
    if not isinstance(value, dict):
        return 0
    # `skills: []` restricts nothing (all of no skills), so it is no dimension of its own.
    given = {k for k, v in value.items() if v is not None and not (k == "skills" and v == [])}
    if not given:
        return 0
    return CELLS_FILTER_COST if given <= _CELL_INPUTS else POSTINGS_FILTER_COST


@strawberry.input(
    description="Restricts figures to the open postings matching every given dimension; "
    "an omitted dimension does not restrict. Within a dimension any value matches, except "
    "`skills`: postings mentioning all of them."
)
class PostingFilter:
    metros: list[str] | None = strawberry.field(
        default=None, description="Canonical metro names or their slugs, any case."
    )
    seniorities: list[Seniority] | None = None
    work_modes: list[WorkMode] | None = None
    companies: list[str] | None = strawberry.field(
        default=None, description="Canonical company names or their slugs, any case."
    )
    skills: list[str] | None = strawberry.field(
        default=None, description="Canonical skill names or their slugs, any case: all must appear."
    )
    posted_within_days: int | None = strawberry.field(
        default=None,
        description="First seen within this many days of the stream clock; "
        f"1..{MAX_POSTED_WITHIN_DAYS}.",
    )

    def check(self) -> None:
        """Refuse shapes no question needs, before any read (sizes, day range)."""
        for name in ("metros", "seniorities", "work_modes", "companies", "skills"):
            values = getattr(self, name)
            if values is not None and len(values) > MAX_FILTER_VALUES:
                raise BadInputError(
                    f"filter.{name} takes at most {MAX_FILTER_VALUES} values, got {len(values)}",
                    argument=f"filter.{name}",
                )
            for value in values if isinstance(values, list) else ():
                if isinstance(value, str) and len(value) > MAX_NAME_LENGTH:
                    raise BadInputError(
                        f"filter.{name}: {echo(value)!r} is longer than {MAX_NAME_LENGTH} "
                        "characters; no name is",
                        argument=f"filter.{name}",
                    )
        days = self.posted_within_days
        if days is not None and not 1 <= days <= MAX_POSTED_WITHIN_DAYS:
            raise BadInputError(
                f"filter.postedWithinDays must be 1..{MAX_POSTED_WITHIN_DAYS}, got {days}",
                argument="filter.postedWithinDays",
            )
