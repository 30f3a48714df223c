"""`postings`: the drill-down from any figure to the open postings behind it, as a Relay
connection (README: drill-down). Pages are read by services/postings_query.py from index ranges;
this module shapes arguments and answers.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar, cast

import strawberry
from strawberry.dataloader import DataLoader

from rolepulse.consumers.documents import as_utc
from rolepulse.domain.aggregates import decode_key, encode_key
from rolepulse.domain.filters import NO_FILTER, PostingFilter
from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.domain.rollups import Source, add_counters, source_for
from rolepulse.schema.documents import RoleAggregateDoc
from rolepulse.services.graphql.context import Context
from rolepulse.services.graphql.errors import LIMIT_MAX, LIMIT_MIN, BadInputError, check_limit
from rolepulse.services.graphql.filters import PostingFilter as FilterInput
from rolepulse.services.graphql.relay import PageInfo
from rolepulse.services.postings_query import (
    Cursor,
    CursorError,
    Doc,
    PostingOrder,
    choose_plan,
    plausible_salary,
)
from rolepulse.services.postings_read import (
    HasPostings,
    Page,
    PostingsSource,
    count_matches,
    read_page,
)
from rolepulse.services.read_model import SliceModel

Info = strawberry.Info[Context, None]
PAY = PostingOrder.SALARY_DESC
_F = TypeVar("_F", bound=Callable[..., Any])


def _described(text: str) -> Callable[[_F], _F]:
    """`@strawberry.field(description=...)`, typed (strawberry's overload is untyped for mypy)."""
    return cast(Callable[[_F], _F], strawberry.field(description=text))


PostingOrderEnum = strawberry.enum(
    PostingOrder,
    name="PostingOrder",
    description="FIRST_SEEN_DESC: newest first (first seen, then posting id, descending). "
    "SALARY_DESC: best paid first by the top of the annual USD range (annualMaxUsd), ties newest "
    "first; only postings with disclosed, plausible pay (the `n` of salary figures) are listed.",
)

FilterArgument = Annotated[
    FilterInput | None,
    strawberry.argument(description="Only the open postings matching it (README: filters)."),
]
RoleArgument = Annotated[
    str | None,
    strawberry.argument(description="A role slug; omitted: every AI role."),
]
FirstArgument = Annotated[
    int, strawberry.argument(description=f"Postings per page, {LIMIT_MIN}..{LIMIT_MAX}.")
]
AfterArgument = Annotated[
    str | None,
    strawberry.argument(description="The `endCursor` of the previous page; omitted: the first."),
]
OrderArgument = Annotated[PostingOrder, strawberry.argument(description="The order of the pages.")]
SkillsLimitArgument = Annotated[
    int, strawberry.argument(description="How many, in the order the posting names them; 1..100.")
]


@strawberry.type(description="The role a posting belongs to.")
class PostingRole:
    slug: str
    title: str


@strawberry.type(description="A posting's pay as published, and annualized in USD.")
class PostingSalary:
    min: float | None = strawberry.field(
        description="As published, in `currency` per `period`; null when only a maximum is given."
    )
    max: float | None = strawberry.field(
        description="As published; null when only a minimum is given."
    )
    currency: str
    period: str = strawberry.field(description="year, month, week, day or hour.")
    annual_min_usd: int = strawberry.field(description="Annualized and converted to USD.")
    annual_max_usd: int
    source: str = strawberry.field(
        description="Where the pay was read: structured (the board's salary fields), text (the "
        "salary text) or description."
    )
    plausible: bool = strawberry.field(
        description="Counted in salary figures: annual USD 10k-5M, minimum <= maximum."
    )


@strawberry.type(
    description="One open job posting, normalized (README: how every number is defined)."
)
class Posting:
    id: strawberry.ID = strawberry.field(description="The posting key, '<source>:<source_id>'.")
    source: str = strawberry.field(description="The board it was published on.")
    title: str | None
    company: str | None = strawberry.field(description="Canonical company name.")
    metro: str | None = strawberry.field(description="Canonical metro; null for remote-only.")
    work_mode: WorkMode
    seniority: Seniority
    role: PostingRole
    salary: PostingSalary | None = strawberry.field(description="Null when no pay is published.")
    url: str | None
    posted_at: datetime | None = strawberry.field(description="The date the board gives.")
    first_seen: datetime = strawberry.field(description="Time of its first observation.")
    last_observed: datetime | None = strawberry.field(description="Time of its latest observation.")
    age_days: int | None = strawberry.field(
        description="Whole days from firstSeen to the stream clock (the time of the latest "
        "applied events, which expiry also runs on); null before any event."
    )
    open: bool = strawberry.field(description="True: only open postings are listed.")
    doc: strawberry.Private[Doc]
    cluster_sizes: strawberry.Private[DataLoader[str, int]]

    @_described("Canonical skills it mentions, in the order it names them.")
    def skills(self, limit: SkillsLimitArgument = 20) -> list[str]:
        check_limit(limit)
        return [str(s) for s in (self.doc.get("skills") or ())][:limit]

    @_described(
        "Open postings of the same job across boards (its cross-board cluster), this one "
        "included; a job is listed once, through the posting its figures count."
    )
    async def cluster_size(self) -> int:
        cluster = self.doc.get("cluster_id")
        if not isinstance(cluster, str):
            return 1
        return max(1, await self.cluster_sizes.load(cluster))


@strawberry.type(description="A posting and the cursor of its place in the order.")
class PostingEdge:
    cursor: str
    node: Posting


class _Once:
    """An awaitable computed at most once, when first awaited (lazy connection fields)."""

    def __init__(self, make: Callable[[], Awaitable[tuple[int, bool]]]) -> None:
        self._make = make
        self._task: asyncio.Future[tuple[int, bool]] | None = None

    async def get(self) -> tuple[int, bool]:
        if self._task is None:
            self._task = asyncio.ensure_future(self._make())
        return await self._task


@strawberry.type(description="A page of open postings (Relay connection).")
class PostingConnection:
    edges: list[PostingEdge]
    page_info: PageInfo
    total: strawberry.Private[_Once]

    @_described(
        "Postings matching the arguments, all pages together. Read from the "
        "pre-aggregated figures when they answer the filter (exact: the openPositions, or for "
        "SALARY_DESC the salary n, of the same role and filter); otherwise counted from the "
        "postings, reading at most 5,000: exact when that was all of them, else a lower bound "
        "(totalCountIsLowerBound)."
    )
    async def total_count(self) -> int:
        return (await self.total.get())[0]

    @_described("True when totalCount stopped counting before the end: a lower bound.")
    async def total_count_is_lower_bound(self) -> bool:
        return (await self.total.get())[1]


async def resolve_postings(
    info: Info,
    filter: FilterArgument = None,
    role: RoleArgument = None,
    first: FirstArgument = 20,
    after: AfterArgument = None,
    order_by: OrderArgument = PostingOrder.FIRST_SEEN_DESC,
) -> PostingConnection:
    """A page of the open jobs matching the arguments (README: drill-down).

    Arguments are checked before anything is read; then only what the page needs is read: the
    roles' counters that choose and size its index ranges (projections), the stream clock, the
    ranges themselves. Cluster sizes and totalCount are read only when selected.
    """
    ctx = info.context
    if not LIMIT_MIN <= first <= LIMIT_MAX:
        raise BadInputError(
            f"first must be between {LIMIT_MIN} and {LIMIT_MAX} (inclusive), got {first}",
            argument="first",
        )
    if role is not None:
        ctx.role_info(role)  # an unknown slug is BAD_USER_INPUT
    cursor = None if after is None else _cursor(after, order_by)
    model = ctx.read_model
    if not isinstance(model, HasPostings):
        raise RuntimeError("the read model cannot read postings")
    source = model.postings()
    slugs = [role] if role is not None else list(ctx.taxonomy)
    counters = await _counters(source, slugs, role, filter, order_by)
    posting_filter = NO_FILTER if filter is None else await ctx.slices.resolve(filter, counters)
    skills = counters.get("skills") or {}
    plan = choose_plan(
        posting_filter,
        role,
        order_by,
        list(ctx.taxonomy),
        skill_counts={decode_key(k): int(v) for k, v in skills.items()} if role else None,
        role_open=counters.get("open") if role else None,
    )
    pay_counts = None
    if order_by is PAY:
        hist = (counters.get("salary") or {}).get("hist_max") or {}
        pay_counts = {int(v): int(n) for v, n in hist.items() if isinstance(n, int) and n > 0}
    clock = await source.clock()
    page = await read_page(source, plan, cursor, first, clock, pay_counts=pay_counts)

    async def load_sizes(ids: Sequence[str]) -> list[int]:
        sizes = await source.open_cluster_sizes(ids)
        return [sizes.get(i, 0) for i in ids]

    sizes: DataLoader[str, int] = DataLoader(load_fn=load_sizes)

    async def total() -> tuple[int, bool]:
        from_rollups = await _rollup_count(ctx, source, slugs, posting_filter, order_by)
        if from_rollups is not None:
            return from_rollups, False
        n, exact = await count_matches(source, plan, clock, pay_counts)
        return n, not exact

    return PostingConnection(
        edges=[
            PostingEdge(cursor=c, node=_posting(ctx, d, clock, sizes))
            for d, c in zip(page.docs, page.cursors, strict=True)
        ],
        page_info=_page_info(page),
        total=_Once(total),
    )


def _cursor(after: str, order: PostingOrder) -> Cursor:
    try:
        return Cursor.decode(after, order)
    except CursorError as exc:
        raise BadInputError(
            f"`after` is not a cursor of this connection for orderBy {order.name} ({exc}); pass "
            "an `endCursor` or edge `cursor` this field returned, unchanged",
            argument="after",
        ) from exc


async def _counters(
    source: PostingsSource,
    slugs: Sequence[str],
    role: str | None,
    raw: FilterInput | None,
    order: PostingOrder,
) -> RoleAggregateDoc:
    """What a page needs of the roles' aggregates, summed over `slugs`, read as projections
    (a whole role document holds every employer: tens of kilobytes): the role's open jobs and
    jobs per skill (which index drives), the salary histogram (SALARY_DESC windows), and the
    named companies' counts (their canonical names: slicing.py resolves names against them)."""
    paths: list[str] = []
    if role is not None and raw is not None and raw.skills is not None:
        paths += ["open", "skills"]
    if order is PAY:
        paths.append("salary.hist_max")
    typed = [name.strip() for name in (raw.companies or ())] if raw is not None else []
    known = {encode_key(name): 1 for name in typed if name in _KNOWN_COMPANIES}
    paths += [f"companies.{encode_key(name)}" for name in typed if name and name not in known]
    merged = _summed(await source.role_counters(slugs, paths)) if paths else {}
    found = (merged.get("companies") or {}) | known
    if any(encode_key(name) not in found for name in typed):
        # A name not written exactly as stored (case, slug): every employer, to match it.
        every = _summed(await source.role_counters(slugs, ["companies"]))
        found = every.get("companies") or {}
    _remember_companies(decode_key(key) for key in found)
    if typed:
        merged["companies"] = found
    return cast(RoleAggregateDoc, merged)


# Canonical company names seen in the aggregates (per process, the most recent kept): a name
# typed exactly like one needs no read to resolve. Safe to keep: a canonical name stays one,
# and one whose postings have all closed simply lists nothing.
_KNOWN_COMPANIES: OrderedDict[str, None] = OrderedDict()
_KNOWN_COMPANIES_KEPT = 50_000


def _remember_companies(names: Iterable[str]) -> None:
    for name in names:
        _KNOWN_COMPANIES[name] = None
        _KNOWN_COMPANIES.move_to_end(name)
    while len(_KNOWN_COMPANIES) > _KNOWN_COMPANIES_KEPT:
        _KNOWN_COMPANIES.popitem(last=False)


def _summed(docs: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    total: dict[str, Any] = {}
    for doc in docs:
        add_counters(total, {k: v for k, v in doc.items() if k != "_id"})
    return total


async def _rollup_count(
    ctx: Context,
    source: PostingsSource,
    slugs: Sequence[str],
    f: PostingFilter,
    order: PostingOrder,
) -> int | None:
    """totalCount from the pre-aggregated figures, when they answer `f` exactly; None otherwise.

    They count jobs through the posting the figures count, as the pages list them: the role's
    (or every role's) open positions under `f`, or those with pay for SALARY_DESC.
    """
    source_kind = source_for(f)
    if source_kind is Source.POSTINGS:
        return None
    field = ("salary", "n") if order is PAY else ("open",)
    if source_kind is Source.ROLE and order is PAY:
        docs = await source.role_counters(slugs, [".".join(field)])
        return sum(_int(_path(doc, field)) for doc in docs)
    if source_kind is Source.ROLE:
        # The market document's per-role counts: small, whatever the roles' employer lists.
        per_role = (await ctx.market()).get("roles") or {}
        return sum(_int(per_role.get(slug)) for slug in slugs)
    if not isinstance(ctx.read_model, SliceModel):
        return None
    # Cells and skill rollups (services/graphql/slicing.py); they do not read the role document.
    figures = await asyncio.gather(*(ctx.slices.figures(s, RoleAggregateDoc(), f) for s in slugs))
    return sum(_int(_path(fig.counters, field)) for fig in figures)


def _path(doc: Mapping[str, Any], path: Sequence[str]) -> object:
    value: object = doc
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _page_info(page: Page) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=False,
        start_cursor=page.cursors[0] if page.cursors else None,
        end_cursor=page.end_cursor,
    )


def _posting(
    ctx: Context, doc: Doc, clock: datetime | None, sizes: DataLoader[str, int]
) -> Posting:
    first_seen = as_utc(doc["first_seen_at"])
    slug = str(doc["role"])
    info = ctx.taxonomy.get(slug)
    return Posting(
        id=strawberry.ID(str(doc["_id"])),
        source=str(doc.get("source") or ""),
        title=doc.get("title"),
        company=doc.get("company"),
        metro=doc.get("metro"),
        work_mode=WorkMode(doc["work_mode"]),
        seniority=Seniority(doc["seniority"]),
        role=PostingRole(slug=slug, title=info.name if info else slug),
        salary=_salary(doc),
        url=doc.get("url"),
        posted_at=_utc(doc.get("posted_at")),
        first_seen=first_seen,
        last_observed=_utc(doc.get("last_observed_at")),
        age_days=None if clock is None else max(0, (clock - first_seen) // timedelta(days=1)),
        open=bool(doc.get("open")),
        doc=doc,
        cluster_sizes=sizes,
    )


def _salary(doc: Doc) -> PostingSalary | None:
    salary = doc.get("salary")
    if not isinstance(salary, Mapping):
        return None
    return PostingSalary(
        min=salary.get("min"),
        max=salary.get("max"),
        currency=str(salary.get("currency")),
        period=str(salary.get("period")),
        annual_min_usd=int(salary["annual_min_usd"]),
        annual_max_usd=int(salary["annual_max_usd"]),
        source=str(salary.get("source")),
        plausible=plausible_salary(doc),
    )


def _utc(value: object) -> datetime | None:
    return as_utc(value) if isinstance(value, datetime) else None
