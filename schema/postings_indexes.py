"""Indexes of `postings` that serve the drill-down (`postings` connection of the API).

Shared by the writer, which creates them (`consumers/store.py` `ensure_indexes`), and the
reader, which plans every page onto one of them (`services/postings_query.py`), so the two
cannot drift apart.

Every index starts with `open` and is partial on `{open: true}`: the drill-down lists open
postings only, and closed postings (which accumulate with history) then cost no index entries.
Each ends with the sort keys of the orders it serves and `_id`, so a keyset page is one range
on the index whatever the store's size. Each one costs the consumer about 0.05 - 0.1 ms per
posting written on SecantusDB (measured; README: drill-down), so there are five, not one per
combination of filter dimensions: the other dimensions are checked on the postings the index
range yields (services/postings_query.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OPEN_ONLY: dict[str, Any] = {"open": True}


@dataclass(frozen=True, slots=True)
class IndexSpec:
    name: str
    keys: tuple[tuple[str, int], ...]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(field for field, _ in self.keys)

    def create_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `create_index` besides the keys."""
        return {"name": self.name, "partialFilterExpression": dict(OPEN_ONLY)}


def _spec(name: str, *fields: str) -> IndexSpec:
    return IndexSpec(name, tuple((field, 1) for field in ("open", *fields, "_id")))


# Newest first, market-wide (every AI role).
BY_FIRST_SEEN = _spec("drill_first_seen", "first_seen_at")
# Newest first within one role (the market-wide page also fans out over it when narrower).
BY_ROLE_FIRST_SEEN = _spec("drill_role_first_seen", "role", "first_seen_at")
# Newest first at one company: company pages, and the most selective dimension of a filter.
BY_COMPANY_FIRST_SEEN = _spec("drill_company_first_seen", "company", "first_seen_at")
# Newest first mentioning one skill (a multikey index: one entry per skill of a posting).
BY_SKILL_FIRST_SEEN = _spec("drill_skill_first_seen", "skills", "first_seen_at")
# Best paid first within one role (market-wide: one range per role, merged).
BY_ROLE_SALARY = _spec("drill_role_salary", "role", "salary.annual_max_usd", "first_seen_at")

DRILL_DOWN_INDEXES = (
    BY_FIRST_SEEN,
    BY_ROLE_FIRST_SEEN,
    BY_COMPANY_FIRST_SEEN,
    BY_SKILL_FIRST_SEEN,
    BY_ROLE_SALARY,
)
