"""Filtered figures for the GraphQL layer: resolve what a client typed in a `PostingFilter`, pick
what answers it (rolepulse/domain/rollups.py: the role document, the cell or skill rollups, or
the matching open postings) and hand the `Role` type one figure set in role-document shape.

Everything read is memoized for the request (one `Slices` per context), so `compareRoles` and a
role's lazy fields never read the same rollup twice; over a read model that keeps reads per data
version (services/read_memo.py), a filter's summed cells and what is derived from every figure
set (services/graphql/derived.py) are kept with them, for every request at that version.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol, TypeVar, cast, runtime_checkable

from rolepulse.domain.aggregates import COMPANY_PARTS, TOTAL_PARTS, decode_key, encode_key
from rolepulse.domain.filters import NO_FILTER, PostingFilter, name_index, resolve_names, slugify
from rolepulse.domain.rollups import (
    MAX_POSTINGS_READ,
    Counters,
    Source,
    driving_skill,
    figures_of_postings,
    postings_queries,
    scan_plan,
    source_for,
    sum_cells,
)
from rolepulse.schema.documents import RoleAggregateDoc
from rolepulse.services.graphql.derived import DerivedFigures
from rolepulse.services.graphql.errors import BadInputError, echo
from rolepulse.services.graphql.filters import PostingFilter as FilterInput
from rolepulse.services.read_model import SliceModel
from rolepulse.taxonomy import load_taxonomy

# Valid names an unknown-name error lists: the closest ones first, then the rest by name.
MAX_LISTED_NAMES = 20
FILTERS_UNAVAILABLE = "Filters are not available on this server (its read model has no rollups)"


@dataclass(frozen=True, slots=True)
class _Names:
    """Valid names of one filter dimension and their lookup (filters.name_index)."""

    names: tuple[str, ...]  # sorted
    index: dict[str, str]

    @classmethod
    def of(cls, names: Iterable[str]) -> _Names:
        ordered = tuple(sorted(set(names)))
        return cls(ordered, name_index(ordered))

    def plus(self, names: Iterable[str]) -> _Names:
        extra = set(names) - set(self.names)
        if not extra:
            return self
        index = dict(self.index)
        for name, canonical in name_index(sorted(extra)).items():
            index.setdefault(name, canonical)
        return _Names(tuple(sorted((*self.names, *extra))), index)


@cache
def _reference() -> tuple[_Names, _Names]:
    """(taxonomy metros, taxonomy skills): always valid in a filter; built once per process
    (several hundred names each: ~1 ms to index)."""
    taxonomy = load_taxonomy()
    return _Names.of(m.name for m in taxonomy.metros), _Names.of(s.name for s in taxonomy.skills)


@dataclass(frozen=True, slots=True)
class Figures:
    """The counters a `Role` reads its fields from: role-document shape plus `TOTAL_PARTS`.

    `missing` names the parts `counters` lacks; `more()` reads a figure set holding them (the
    total rollup for an unfiltered role, the matching postings for a skill rollup's company
    maps), only when a field that needs one is asked for.
    """

    counters: Mapping[str, Any]
    filtered: bool = False
    missing: frozenset[str] = frozenset()
    more: Callable[[], Awaitable[Mapping[str, Any]]] | None = None
    # What is derived from a figure set (rankings, salary statistics): `Slices.derived_for`
    # shares it across the request, and across requests at one data version where the figure
    # set is kept; the default derives anew each time.
    derive: Callable[[Mapping[str, Any]], DerivedFigures] = DerivedFigures

    async def part(self, name: str) -> Mapping[str, Any]:
        value = (await self._source(name)).get(name)
        return value if isinstance(value, Mapping) else {}

    def derived(self) -> DerivedFigures:
        """Figures derived from `counters`."""
        return self.derive(self.counters)

    async def derived_part(self, name: str) -> DerivedFigures:
        """Figures derived from the figure set holding the part `name` (see `missing`)."""
        return self.derive(await self._source(name))

    async def _source(self, name: str) -> Mapping[str, Any]:
        if name in self.missing and self.more is not None:
            return await self.more()
        return self.counters


_T = TypeVar("_T")


@runtime_checkable
class SharedFigures(Protocol):
    """A read model keeping values per data version (services/read_memo.py MemoReadModel)."""

    async def shared(self, key: Hashable, compute: Callable[[], Awaitable[_T]]) -> _T:
        """`compute()`'s value, kept for every request at the current data version."""
        ...

    def companion(
        self, value: object, make: Callable[[Any], DerivedFigures]
    ) -> DerivedFigures | None:
        """The derived figures kept beside a kept value; None for a value not kept."""
        ...


_KEEPS_FIGURES: dict[type, bool] = {}


def _keeps_figures(model: object) -> bool:
    # Once per class: a runtime protocol check costs ~10 µs, and a context is built per request.
    kind = type(model)
    found = _KEEPS_FIGURES.get(kind)
    if found is None:
        found = _KEEPS_FIGURES[kind] = isinstance(model, SharedFigures)
    return found


class Slices:
    """A request's filtered reads, memoized; `model` None: a read model without rollups."""

    def __init__(self, model: SliceModel | None) -> None:
        self._model = model
        self._memo: dict[tuple[Any, ...], asyncio.Future[Any]] = {}
        self._shared = cast(SharedFigures, model) if _keeps_figures(model) else None
        # By identity of the figure set (kept alive here, so an id is not reused meanwhile).
        self._derived: dict[int, tuple[Mapping[str, Any], DerivedFigures]] = {}

    @property
    def model(self) -> SliceModel:
        if self._model is None:
            raise BadInputError(FILTERS_UNAVAILABLE)
        return self._model

    async def _once(self, key: tuple[Any, ...], make: Callable[[], Awaitable[Any]]) -> Any:
        future = self._memo.get(key)
        if future is None:
            future = self._memo[key] = asyncio.ensure_future(make())
        return await future

    def derived_for(self, counters: Mapping[str, Any]) -> DerivedFigures:
        """What is derived from `counters`, once per request, or once per data version when
        the read model keeps `counters` (then every request at that version shares it)."""
        found = self._derived.get(id(counters))
        if found is not None and found[0] is counters:
            return found[1]
        derived = self._shared.companion(counters, DerivedFigures) if self._shared else None
        if derived is None:
            derived = DerivedFigures(counters)
        self._derived[id(counters)] = (counters, derived)
        return derived

    async def totals(self, slug: str) -> Counters:
        if self._model is None:
            return {}
        model = self._model

        async def read() -> Counters:
            return (await model.role_totals([slug])).get(slug, {})

        result: Counters = await self._once(("totals", slug), read)
        return result

    async def clock(self) -> datetime | None:
        if self._model is None:
            return None
        result: datetime | None = await self._once(("clock",), self._model.stream_clock)
        return result

    async def metro_names(self) -> frozenset[str]:
        result: frozenset[str] = await self._once(("metros",), self.model.metro_names)
        return result

    async def metro_name(self, typed: str, argument: str) -> str:
        """The canonical metro `typed` names, resolved as a filter's metros are (a taxonomy
        metro or a place with an open posting); an unknown one is their error, naming
        `argument` (`metro(name:)`, services/graphql/metros.py)."""
        known = _reference()[0].plus(await self.metro_names())
        (name,) = _resolve([typed], known, "metros", "metro", where=argument)
        return name

    # ---- what a Role reads --------------------------------------------------------------------

    def unfiltered(self, slug: str, role_doc: RoleAggregateDoc) -> Figures:
        async def more() -> Mapping[str, Any]:
            return await self.totals(slug)

        return Figures(role_doc, missing=frozenset(TOTAL_PARTS), more=more, derive=self.derived_for)

    async def figures(self, slug: str, role_doc: RoleAggregateDoc, f: PostingFilter) -> Figures:
        """The figures of `slug` over the open postings `f` selects."""
        source = source_for(f)
        if source is Source.ROLE:
            return self.unfiltered(slug, role_doc)
        if source is Source.CELLS:
            metros = None if f.metros is None else sorted(f.metros)

            async def cells() -> Counters:
                return sum_cells(await self.model.role_cells(slug, metros), f)

            async def shared_cells() -> Counters:
                # Summing costs the cells' distinct values: once per data version if kept.
                if self._shared is None:
                    return await cells()
                summed: Counters = await self._shared.shared(("cells-summed", slug, f), cells)
                return summed

            counters = await self._once(("cells", slug, f), shared_cells)
            return Figures(counters, filtered=True, derive=self.derived_for)
        if source is Source.SKILL:
            assert f.skills is not None
            (skill,) = f.skills

            async def company_parts() -> Mapping[str, Any]:
                return await self.from_postings(slug, role_doc, f, "Its company figures")

            counters = await self._once(
                ("skill", slug, skill), lambda: self.model.role_skill(slug, skill)
            )
            return Figures(
                counters,
                filtered=True,
                missing=frozenset(COMPANY_PARTS),
                more=company_parts,
                derive=self.derived_for,
            )
        return Figures(
            await self.from_postings(slug, role_doc, f, "The figures of this filter"),
            filtered=True,
            derive=self.derived_for,
        )

    async def from_postings(
        self, slug: str, role_doc: RoleAggregateDoc, f: PostingFilter, what: str
    ) -> Counters:
        """The figure set of the open postings `f` selects, read from the postings themselves
        through an index, at most MAX_POSTINGS_READ of them; refused beyond that."""

        async def read() -> Counters:
            now = await self.clock()
            first_seen: Mapping[str, Any] = {}
            if f.posted_within_days is not None:  # bounds the role's range by first-seen day
                first_seen = (await self.totals(slug)).get("first_seen") or {}
            companies, skills = await self.model.market_counts(
                sorted(f.companies or ()), sorted(f.skills or ())
            )
            role_open = int(role_doc.get("open") or 0)
            bound, dimension = scan_plan(f, role_open, first_seen, companies, skills, now)
            if bound > MAX_POSTINGS_READ:
                raise BadInputError(
                    f"{what} on role {slug!r} come from the matching open postings, which "
                    f"means reading through up to {bound:,} of them: more than the "
                    f"{MAX_POSTINGS_READ:,} a query may read. Narrow it (fewer companies, a "
                    "rarer skill, fewer postedWithinDays), or use only metros, seniorities, "
                    "workModes and at most one skill, which pre-aggregated figures answer at "
                    "any size.",
                    scanMax=bound,
                    readMax=MAX_POSTINGS_READ,
                )
            queries = postings_queries(slug, f, dimension, now, driving_skill(f, skills))
            states = await self.model.counted_postings(queries, MAX_POSTINGS_READ + 1)
            if len(states) > MAX_POSTINGS_READ:
                # The bound counts this role family's jobs; a company's or skill's index range
                # also holds its postings outside AI roles, which the counters never saw. Cut
                # short, the figures would be of an arbitrary part: refuse instead.
                raise BadInputError(
                    f"{what} on role {slug!r} come from the matching open postings, and the "
                    f"index range that finds them holds more than the {MAX_POSTINGS_READ:,} a "
                    "query may read (postings outside AI roles included). Narrow it, or use "
                    "only metros, seniorities, workModes and at most one skill.",
                    scanMax=len(states),
                    readMax=MAX_POSTINGS_READ,
                )
            # The queries matched one dimension; the role and the rest are checked here.
            return figures_of_postings(
                s
                for s in states
                if s.posting is not None
                and s.posting.role == slug
                and f.matches(s.posting, s.first_seen_at, now)
            )

        result: Counters = await self._once(("postings", slug, f), read)
        return result

    # ---- names --------------------------------------------------------------------------------

    async def resolve(self, raw: FilterInput | None, role_doc: RoleAggregateDoc) -> PostingFilter:
        """The domain filter for what a client typed, names made canonical.

        Metros and skills must name something (an unknown one is an error listing valid names);
        companies are matched against the role's employers with open postings, and a company
        with none there matches nothing (figures of an empty set), because employers, unlike
        metros and skills, are not a fixed list: one with no open posting today is no mistake.
        """
        if raw is None:
            return NO_FILTER
        raw.check()
        metros = skills = companies = None
        if raw.metros is not None:
            known = _reference()[0].plus(await self.metro_names())
            metros = _resolve(raw.metros, known, "metros", "metro")
        if raw.skills:  # "mentions all of none" restricts nothing: `skills: []` is no filter
            skills = _resolve(raw.skills, _reference()[1], "skills", "skill")
        if raw.companies is not None:
            companies = _companies(raw.companies, role_doc.get("companies") or {})
        return PostingFilter(
            metros=metros,
            seniorities=None if raw.seniorities is None else frozenset(raw.seniorities),
            work_modes=None if raw.work_modes is None else frozenset(raw.work_modes),
            companies=companies,
            skills=skills,
            posted_within_days=raw.posted_within_days,
        )


def _resolve(
    typed: Iterable[str], valid: _Names, argument: str, noun: str, where: str | None = None
) -> frozenset[str]:
    """Canonical names of `typed`; `where` names the argument in an error (default: the
    filter's `argument` dimension)."""
    where = where or f"filter.{argument}"
    found, unknown = resolve_names(typed, valid.index)
    if unknown:
        shown = echo(unknown[0])
        listed = _closest(shown, list(valid.names))
        more = len(valid.names) - len(listed)
        raise BadInputError(
            f"Unknown {noun} {shown!r} in {where}. Valid {argument} include: "
            f"{', '.join(listed)}" + (f" ({more} more)" if more > 0 else "") + ".",
            argument=where,
            unknown=[echo(u) for u in unknown[:MAX_LISTED_NAMES]],
            validNames=listed,
        )
    return found


def _closest(typed: str, names: list[str]) -> list[str]:
    close = difflib.get_close_matches(typed, names, n=5, cutoff=0.6)
    close += difflib.get_close_matches(slugify(typed), [slugify(n) for n in names], n=5)
    by_slug = {slugify(n): n for n in names}
    ordered = [by_slug.get(c, c) for c in close]
    ordered += names
    return list(dict.fromkeys(n for n in ordered if n in names))[:MAX_LISTED_NAMES]


def skill_name(typed: str, argument: str) -> str:
    """The canonical taxonomy skill `typed` names, resolved as a filter's skills are; an
    unknown one is their error, naming `argument` (`skill(name:)`, services/graphql/skills.py)."""
    (name,) = _resolve([typed], _reference()[1], "skills", "skill", where=argument)
    return name


def _companies(typed: Iterable[str], counts: Mapping[str, Any]) -> frozenset[str]:
    """Canonical companies of the role for each typed name: exactly, then case-insensitively,
    then by slug (every company sharing it); a name matching none adds nothing."""
    wanted = [t.strip() for t in typed]
    found = {t for t in wanted if encode_key(t) in counts}
    rest = [t for t in wanted if t not in found]
    if rest:
        names = [decode_key(k) for k in counts]
        folded = {t.casefold() for t in rest}
        by_case = {n for n in names if n.casefold() in folded}
        found |= by_case
        # Slugs only for what case did not find: slugifying every employer costs ~3 us each.
        unmatched = folded - {n.casefold() for n in by_case}
        if unmatched:
            slugs = {slugify(t) for t in unmatched}
            found |= {n for n in names if slugify(n) in slugs}
    return frozenset(found)
