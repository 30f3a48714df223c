"""The drill-down's query engine: keyset pages of open postings read from index ranges.

Pure apart from one injected coroutine, `fetch(query)`, which returns the postings an index range
holds (services/postings_read.py does it with MongoDB); everything else, cursors, the choice of
index, windows, filters, is here so it can be tested without a database.

**Order.** Every order is a list of keys, all descending, ending with `_id` so it is total:
FIRST_SEEN_DESC is (first seen, _id); SALARY_DESC is (annual max USD, first seen, _id), over
postings with disclosed, plausible pay (the `n` of the salary figures), others left out. A
position is one value per key; `None` in a key means "below every value", so a position can also
say where a scan stopped between two postings.

**Pages are ranges, not skips.** The postings after position (k1, k2, id) are, in order: those
with (k1, k2) equal and a smaller id, then those with k1 equal and a smaller k2, then those with
a smaller k1. Each of these "levels" is one range of an index whose leading fields are pinned by
equalities (`open`, the filter's driving dimension, the keys before the level's) and whose next
field is the level's key: a compound index range, never an `$or` (SecantusDB plans a top-level
`$or` and any field outside the index as a collection scan).

**Windows.** SecantusDB reads a whole index range before applying `limit`, so a range "every
posting older than the cursor" costs as much as the store is large. Each level is therefore read
in windows of its key, newest (highest) first: [lo, hi), then the window below, its width
adapted to how many matches the previous one gave, until the page is full. The cursor carries the
width that filled the page, so the next page usually needs one window; first pages learn it per
query shape (`_FIRST_WINDOWS`). Pay windows are sized from the roles' exact salary histograms
instead, and a salary value shared by more postings than a page needs is read on its own by
first-seen windows. On MongoDB the windows cost nothing extra: each is an index range.

**Residual dimensions.** The index pins one dimension of the filter (a company, a skill or the
role); the others (metros, seniorities, work modes, more skills, postedWithinDays) are checked
on each posting the windows yield, with the domain's own `PostingFilter.matches`. A page
examines at most `PAGE_BUDGET` postings: a filter matching few of its driving range's postings
returns a shorter page (possibly empty) with `hasNextPage` true and a cursor where the scan
stopped, rather than scanning on.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from typing import Any

from rolepulse.consumers.documents import as_utc, doc_to_state
from rolepulse.domain.filters import PostingFilter
from rolepulse.domain.salary import IMPLAUSIBLE_FLAG, MAX_PLAUSIBLE_USD
from rolepulse.schema.postings_indexes import (
    BY_COMPANY_FIRST_SEEN,
    BY_FIRST_SEEN,
    BY_ROLE_FIRST_SEEN,
    BY_ROLE_SALARY,
    BY_SKILL_FIRST_SEEN,
    IndexSpec,
)

Doc = dict[str, Any]
Fetch = Callable[[Mapping[str, Any]], Awaitable[list[Doc]]]
KeyValue = int | str
Position = tuple[KeyValue | None, ...]

# Postings one page may examine (read from index ranges and check against the filter). About
# 0.1 ms each on SecantusDB (it reads every posting of a range), so 2,000 is ~0.2 s at worst.
PAGE_BUDGET = 2_000
# totalCount, when no rollup answers the filter: exact when the matching postings were all
# counted within COUNT_BUDGET postings read (so at most COUNT_CAP), else a lower bound
# (totalCountIsLowerBound). SecantusDB cannot count from an index without reading each posting
# (~0.1 ms each), so these bound a count at ~0.5 s there, as the figures' postings path is
# (rolepulse/domain/rollups.py MAX_POSTINGS_READ); the rollups answer the large sets exactly.
COUNT_CAP = 5_000
COUNT_BUDGET = 5_000
# A company range at most this long is read whole and ordered by pay in memory: the postings of
# one company, best paid first, with no (company, salary) index.
WHOLE_RANGE_MAX = PAGE_BUDGET
# Event times are bounded to years 2000-2999 at the consumer's edge: a window reaching below
# the floor is the last one of its level (and is left open below, in case).
TIME_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# Lowest values of each key type: a range needs one bound at least (a bare-equality query on a
# partial compound index is a collection scan on SecantusDB).
_TIME_MIN = datetime(1900, 1, 1, tzinfo=UTC)
_MONEY_MIN = float("-inf")
MAX_CURSOR_CHARS = 1_000
MAX_ID_CHARS = 600


class PostingOrder(StrEnum):
    FIRST_SEEN_DESC = "first_seen_desc"
    SALARY_DESC = "salary_desc"


class KeyKind(Enum):
    TIME = "time"  # milliseconds since the epoch, UTC (MongoDB's precision)
    MONEY = "money"  # whole annual USD
    ID = "id"  # the posting key


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    kind: KeyKind


FIRST_SEEN = SortKey("first_seen_at", KeyKind.TIME)
ANNUAL_MAX = SortKey("salary.annual_max_usd", KeyKind.MONEY)
POSTING_ID = SortKey("_id", KeyKind.ID)
SORT_KEYS: Mapping[PostingOrder, tuple[SortKey, ...]] = {
    PostingOrder.FIRST_SEEN_DESC: (FIRST_SEEN, POSTING_ID),
    PostingOrder.SALARY_DESC: (ANNUAL_MAX, FIRST_SEEN, POSTING_ID),
}
_ORDER_CODES = {PostingOrder.FIRST_SEEN_DESC: "fs", PostingOrder.SALARY_DESC: "sal"}

# Window widths: where the first window of a level starts, the smallest one, and how much wider
# the next may get. Key units: milliseconds or dollars.
_DEFAULT_WIDTH = {KeyKind.TIME: 15 * 60 * 1000, KeyKind.MONEY: 5_000}
_DEEPER_WIDTH = {KeyKind.TIME: 7 * 24 * 3600 * 1000, KeyKind.MONEY: 5_000}
_MIN_WIDTH = {KeyKind.TIME: 1_000, KeyKind.MONEY: 1}
_MAX_GROWTH = 8.0
# Without a salary histogram, the first window of a salary order reaches down to here until the
# shape has been seen once: above it, pay is rare.
_FIRST_MONEY_LO = 400_000
_FIRST_WINDOWS_KEPT = 512


class CursorError(ValueError):
    """An `after` value that is not a cursor of this order (tampered, truncated, foreign)."""


# ---- cursors --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in one order, and the window width that filled the page ending there."""

    order: PostingOrder
    position: Position
    width: int | None = None

    def encode(self) -> str:
        body: dict[str, Any] = {"v": 1, "o": _ORDER_CODES[self.order], "p": list(self.position)}
        if self.width is not None:
            body["w"] = self.width
        raw = json.dumps(body, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, order: PostingOrder) -> Cursor:
        """The cursor `text` encodes, for `order`; CursorError for anything else."""
        if len(text) > MAX_CURSOR_CHARS:
            raise CursorError("it is too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            body = json.loads(raw.decode())
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise CursorError("it is not base64 of JSON") from exc
        if not isinstance(body, dict) or set(body) - {"v", "o", "p", "w"} or body.get("v") != 1:
            raise CursorError("its content is not a cursor's")
        code = body.get("o")
        if code != _ORDER_CODES[order]:
            raise CursorError(f"it belongs to another orderBy than {order.name}")
        width = body.get("w")
        if width is not None and not (_is_int(width) and 1 <= width <= 2**53):
            raise CursorError("its window is not a positive integer")
        return cls(order, _position(body.get("p"), SORT_KEYS[order]), width)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _position(raw: object, keys: Sequence[SortKey]) -> Position:
    if not isinstance(raw, list) or len(raw) != len(keys):
        raise CursorError("its position has the wrong length")
    values: list[KeyValue | None] = []
    for key, value in zip(keys, raw, strict=True):
        if value is None:
            values.append(None)
            continue
        if values and values[-1] is None:
            raise CursorError("its position has a value after an open end")
        if key.kind is KeyKind.ID:
            ok = isinstance(value, str) and len(value) <= MAX_ID_CHARS
        elif key.kind is KeyKind.TIME:
            ok = _is_int(value) and _TIME_BOUNDS[0] <= value <= _TIME_BOUNDS[1]
        else:
            ok = _is_int(value) and abs(value) <= 2**53
        if not ok:
            raise CursorError(f"its {key.field} is out of range")
        values.append(value)
    if values[0] is None:
        raise CursorError("its position is empty")
    return tuple(values)


def time_key(at: datetime) -> int:
    return (as_utc(at) - _EPOCH) // _MS


def time_value(ms: int) -> datetime:
    return _EPOCH + ms * _MS


_TIME_BOUNDS = (time_key(_TIME_MIN), time_key(datetime(3000, 1, 1, tzinfo=UTC)))


def doc_position(doc: Mapping[str, Any], order: PostingOrder) -> Position:
    """The position of a stored posting in `order` (its sort key)."""
    return tuple(_key_of(doc, key) for key in SORT_KEYS[order])


def _key_of(doc: Mapping[str, Any], key: SortKey) -> KeyValue:
    if key.kind is KeyKind.TIME:
        return time_key(doc["first_seen_at"])
    if key.kind is KeyKind.MONEY:
        return int(doc["salary"]["annual_max_usd"])
    return str(doc["_id"])


def _mongo_value(kind: KeyKind, value: KeyValue) -> Any:
    return time_value(int(value)) if kind is KeyKind.TIME else value


# ---- plans ----------------------------------------------------------------------------------


class Strategy(Enum):
    WINDOWS = "windows"  # keyset windows over an index whose keys end with the order's
    WHOLE_RANGE = "whole range"  # read each (small) range whole, order in memory


@dataclass(frozen=True, slots=True)
class ScanPlan:
    """Which index ranges a query reads and what it checks on each posting read."""

    order: PostingOrder
    index: IndexSpec
    prefixes: tuple[Mapping[str, Any], ...]  # equalities pinning the index, one per range
    role: str | None  # None: every AI role (postings without a role are never listed)
    posting_filter: PostingFilter
    strategy: Strategy = Strategy.WINDOWS
    empty: bool = False  # the filter matches nothing whatever is stored (an empty dimension)
    # WHOLE_RANGE: what to read instead when the ranges are too long to order in memory.
    fallback: ScanPlan | None = None

    @property
    def shape(self) -> tuple[Any, ...]:
        """What the learned first window depends on: the ranges read and what is kept of them."""
        prefixes = tuple(tuple(sorted(p.items())) for p in self.prefixes)
        return (self.order, self.index.name, prefixes, self.role, self.posting_filter)


# A skill mentioned by fewer than this share of a role's postings drives the scan through the
# skill index rather than the role's: across roles, a skill's postings are about 1/12 one role's.
SKILL_DRIVES_BELOW_SHARE = 0.1


def choose_plan(
    posting_filter: PostingFilter,
    role: str | None,
    order: PostingOrder,
    roles: Sequence[str],
    skill_counts: Mapping[str, int] | None = None,
    role_open: int | None = None,
) -> ScanPlan:
    """The index ranges that answer (filter, role, order) with the fewest postings read.

    `roles`: every role slug (a market-wide salary order reads one range per role).
    `skill_counts` / `role_open`: the role's open postings per skill and in all, when known
    (its aggregate document): they decide between the role's and a skill's range.
    """
    f = posting_filter
    empty = any(
        values is not None and not values
        for values in (f.metros, f.seniorities, f.work_modes, f.companies, f.skills)
    )
    base = {"open": True}
    if order is PostingOrder.SALARY_DESC:
        slugs = [role] if role is not None else list(roles)
        by_role = tuple(base | {"role": slug} for slug in slugs)
        by_pay = ScanPlan(order, BY_ROLE_SALARY, by_role, role, f, empty=empty)
        if f.companies:
            # A company's postings are few: read them whole and order them by pay in memory,
            # rather than reading every role's best paid postings for the company's few.
            prefixes = tuple(base | {"company": c} for c in sorted(f.companies))
            return ScanPlan(
                order,
                BY_COMPANY_FIRST_SEEN,
                prefixes,
                role,
                f,
                Strategy.WHOLE_RANGE,
                empty,
                fallback=by_pay,
            )
        return by_pay
    if f.companies:
        prefixes = tuple(base | {"company": c} for c in sorted(f.companies))
        return ScanPlan(order, BY_COMPANY_FIRST_SEEN, prefixes, role, f, empty=empty)
    if f.skills:
        rarest = min(sorted(f.skills), key=lambda s: (skill_counts or {}).get(s, 0))
        share = None
        if role is not None and skill_counts is not None and role_open:
            share = skill_counts.get(rarest, 0) / role_open
        if role is None or (share is not None and share < SKILL_DRIVES_BELOW_SHARE):
            prefix = base | {"skills": rarest}
            return ScanPlan(order, BY_SKILL_FIRST_SEEN, (prefix,), role, f, empty=empty)
    if role is not None:
        return ScanPlan(order, BY_ROLE_FIRST_SEEN, (base | {"role": role},), role, f, empty=empty)
    return ScanPlan(order, BY_FIRST_SEEN, (base,), role, f, empty=empty)


def window_query(
    plan: ScanPlan,
    prefix: Mapping[str, Any],
    pinned: Mapping[str, Any],
    key: SortKey,
    lo: KeyValue | None,
    hi: KeyValue | None,
) -> dict[str, Any]:
    """The query of one window: `prefix` and `pinned` keys by equality, `key` in [lo, hi).

    Equalities on the index's leading fields and one range on the next: the shape both
    SecantusDB and MongoDB serve from the compound index (tests/integration: explain).
    """
    bounds: dict[str, Any] = {}
    if lo is not None:
        bounds["$gte"] = _mongo_value(key.kind, lo)
    if hi is not None:
        bounds["$lt"] = _mongo_value(key.kind, hi)
    if not bounds:
        bounds["$gte"] = _TIME_MIN if key.kind is KeyKind.TIME else _MONEY_MIN
    return {**prefix, **pinned, key.field: bounds}


# ---- what a posting must be -----------------------------------------------------------------


def plausible_salary(doc: Mapping[str, Any]) -> bool:
    """Disclosed pay that salary figures count (and SALARY_DESC orders by)."""
    salary = doc.get("salary")
    if not isinstance(salary, Mapping) or not _is_int(salary.get("annual_max_usd")):
        return False
    return IMPLAUSIBLE_FLAG not in (doc.get("flags") or ())


def accepts(plan: ScanPlan, doc: Mapping[str, Any], clock: datetime | None) -> bool:
    """Whether a posting read from the plan's ranges belongs to the answer."""
    if doc.get("open") is not True or not doc.get("has_data"):
        return False
    # One posting per job: the member of its cross-board cluster the figures count. A posting
    # stored before the consumer kept the flag has none, and is listed.
    if doc.get("counted") is False:
        return False
    role = doc.get("role")
    if role is None or (plan.role is not None and role != plan.role):
        return False
    if plan.order is PostingOrder.SALARY_DESC and not plausible_salary(doc):
        return False
    if plan.posting_filter.is_empty:
        return True
    state = doc_to_state(doc)
    posting = state.posting
    return posting is not None and plan.posting_filter.matches(posting, state.first_seen_at, clock)


def first_seen_floor(plan: ScanPlan, clock: datetime | None) -> int | None:
    """The lowest first-seen time a match can have (postedWithinDays), as a time key."""
    days = plan.posting_filter.posted_within_days
    if days is None or clock is None:
        return None
    return time_key(clock - timedelta(days=days))


# ---- the scan -------------------------------------------------------------------------------


@dataclass(slots=True)
class ScanResult:
    """Matches in order (at most the number asked for) and where the scan stopped.

    `stopped_at`: None when nothing after the matches remains unread (the ranges ended), else
    the position to continue from (the last match's when the page is full, or where the budget
    ran out).
    """

    matches: list[Doc]
    stopped_at: Position | None
    examined: int = 0
    width: int | None = None  # the level-1 window width that suits the next page


@dataclass(slots=True)
class _Scan:
    fetch: Fetch
    plan: ScanPlan
    clock: datetime | None
    need: int
    budget: int
    matches: list[Doc] = field(default_factory=list)
    examined: int = 0
    seen: set[str] = field(default_factory=set)

    @property
    def full(self) -> bool:
        return len(self.matches) >= self.need

    @property
    def remaining(self) -> int:
        return self.need - len(self.matches)

    @property
    def rate(self) -> float:
        """Share of the postings read so far that matched (1 before any is read)."""
        return (len(self.matches) + 1) / (self.examined + 1)

    async def read(self, pinned: Mapping[str, Any], key: SortKey, lo: Any, hi: Any) -> list[Doc]:
        """Every posting of the window across the plan's ranges, in the order's order."""
        docs: list[Doc] = []
        for prefix in self.plan.prefixes:
            docs += await self.fetch(window_query(self.plan, prefix, pinned, key, lo, hi))
        self.examined += len(docs)
        order = self.plan.order
        if order is PostingOrder.SALARY_DESC:
            docs = [d for d in docs if plausible_salary(d)]
        docs.sort(key=lambda d: doc_position(d, order), reverse=True)
        return docs

    def take(self, docs: Iterable[Doc], after: Position | None = None) -> Position | None:
        """Keep the matches among `docs` (in order; those after `after` if given) up to `need`;
        the last one's position if that filled the page."""
        order = self.plan.order
        for doc in docs:
            key = str(doc["_id"])
            if key in self.seen or not accepts(self.plan, doc, self.clock):
                continue
            position = doc_position(doc, order)
            if after is not None and not _before(position, after):
                continue
            self.seen.add(key)
            self.matches.append(doc)
            if self.full:
                return position
        return None


# Pay ties of one role: when the role has at most this many jobs at a salary value (its
# histogram), a page starting inside the value reads all of them at once rather than by windows.
TIE_READ_ALL = 200


async def scan(
    fetch: Fetch,
    plan: ScanPlan,
    after: Cursor | None,
    need: int,
    clock: datetime | None,
    *,
    budget: int = PAGE_BUDGET,
    anchor: datetime | None = None,
    learn: bool = True,
    pay_counts: Mapping[int, int] | None = None,
    scope: str = "",
) -> ScanResult:
    """Up to `need` matches strictly after `after`, in the plan's order.

    `clock`: the stream clock (postedWithinDays); `anchor`: where a first page's time window
    starts (the clock, else now). Stops early when `budget` postings have been examined.
    `pay_counts`: open jobs per annual max USD of the plan's roles (their aggregates'
    `salary.hist_max`): SALARY_DESC windows are then sized from it instead of learned.
    `scope`: what first windows are learned per, besides the query's shape (the database: two
    stores of different sizes need different windows).
    """
    if plan.empty or (plan.posting_filter.posted_within_days is not None and clock is None):
        return ScanResult([], None)
    state = _Scan(fetch, plan, clock, need, budget)
    if plan.strategy is Strategy.WHOLE_RANGE:
        done = await _whole_range(state, after)
        if done is not None or plan.fallback is None:
            return done or ScanResult([], None, state.examined)
        # Too long to order in memory: windows over the fallback's ranges, company checked.
        plan = plan.fallback
        state = _Scan(fetch, plan, clock, need, budget, examined=state.examined)
    keys = SORT_KEYS[plan.order]
    position = after.position if after is not None else None
    levels: list[tuple[int, KeyValue | None]] = (
        [(0, None)]
        if position is None
        else [(j, position[j]) for j in reversed(range(len(keys))) if position[j] is not None]
    )
    counts = _descending(pay_counts) if plan.order is PostingOrder.SALARY_DESC else None
    if counts is not None and position is not None and isinstance(position[1], int):
        # A page starting among one salary value's postings: few enough to read at once (both
        # deeper levels in one range, the position applied in memory)?
        pay = position[0]
        if isinstance(pay, int) and (pay_counts or {}).get(pay, TIE_READ_ALL + 1) <= TIE_READ_ALL:
            pinned = {ANNUAL_MAX.field: pay}
            docs = await state.read(pinned, FIRST_SEEN, None, position[1] + 1)
            stop = state.take(docs, after=position)
            if stop is not None:
                width = after.width if after else None
                return ScanResult(state.matches, stop, state.examined, width)
            levels = levels[-1:]
    for depth, hi in levels:
        pinned = {
            keys[i].field: _mongo_value(keys[i].kind, position[i])  # type: ignore[index,arg-type]
            for i in range(depth)
        }
        key = keys[depth]
        if key.kind is KeyKind.ID:
            stop = state.take(await state.read(pinned, key, None, hi))
            if stop is not None:
                width = after.width if after else None
                return ScanResult(state.matches, stop, state.examined, width)
            continue
        if key is ANNUAL_MAX and hi is None:
            # Pay above the plausible maximum is implausible by definition: never listed.
            hi = MAX_PLAUSIBLE_USD + 1
        if key is ANNUAL_MAX and counts is not None:
            result = await _pay_windows(state, int(hi or 0), counts, clock)
        else:
            # The width that filled the previous page suits the level it ended in: the first
            # windowed one of this page.
            hint = after.width if after is not None else None
            if hint is None and key is FIRST_SEEN and depth == 1 and pay_counts and position:
                # Within one salary value: sized from how many jobs share it.
                tied = max(1, pay_counts.get(int(position[0] or 0), 1))
                hint = int(_OPEN_SPAN_MS * 1.25 * min(state.remaining, tied) / tied)
            memo = (scope, *plan.shape) if (learn and position is None) else None
            sizer = _WidthSizer(key.kind, depth, hint, memo, anchor or clock)
            result = await _windows(state, pinned, depth, key, hi, sizer, position)
        if result is not None:
            return result
        if after is not None:
            after = Cursor(after.order, after.position)  # its hint is spent
    return ScanResult(state.matches, None, state.examined)


# Spread of first-seen times assumed for the open postings of one salary value, to size the
# first window within it (the expiry window; re-observed postings stay open longer).
_OPEN_SPAN_MS = 30 * 24 * 3600 * 1000


async def _pay_windows(
    state: _Scan, hi: int | None, counts: list[tuple[int, int]], clock: datetime | None
) -> ScanResult | None:
    """SALARY_DESC's pay level, sized from the roles' salary histogram: each window spans the
    values holding about the rest of the page. A single value holding many more postings than
    that (a round salary shared by hundreds) is read on its own, newest first by first-seen
    windows (the level below), so a page never reads all of a popular value's postings."""
    upper = hi
    rest = [(v, n) for v, n in counts if hi is None or v < hi]
    while True:
        target = max(1.0, min(state.remaining * 1.25 / state.rate, state.budget - state.examined))
        if rest and rest[0][1] > max(2 * target, 50):
            value, n = rest.pop(0)
            # Above it: no counted job, but postings not counted (other boards') may be there.
            stop = state.take(await state.read({}, ANNUAL_MAX, value + 1, upper))
            if stop is not None:
                return ScanResult(state.matches, stop, state.examined)
            width = max(_MIN_WIDTH[KeyKind.TIME], int(_OPEN_SPAN_MS * 1.25 * target / n))
            sizer = _WidthSizer(KeyKind.TIME, 1, width, None, clock)
            pinned = {ANNUAL_MAX.field: value}
            result = await _windows(state, pinned, 1, FIRST_SEEN, None, sizer, (value, None, None))
            if result is not None:
                return result
            upper = value
            continue
        lo: int | None = None
        total = 0
        while rest:
            value, n = rest.pop(0)
            total += n
            if total >= target or (rest and rest[0][1] > max(2 * target, 50)):
                lo = value
                break
        stop = state.take(await state.read({}, ANNUAL_MAX, lo, upper))
        if stop is not None:
            return ScanResult(state.matches, stop, state.examined)
        if lo is None:
            return None
        if state.examined >= state.budget:
            return ScanResult(state.matches, (lo, None, None), state.examined)
        upper = lo


def _descending(counts: Mapping[int, int] | None) -> list[tuple[int, int]] | None:
    if counts is None:
        return None
    return sorted(((v, n) for v, n in counts.items() if n > 0), reverse=True)


async def _whole_range(state: _Scan, after: Cursor | None) -> ScanResult | None:
    """The plan's ranges read whole and ordered in memory; None if they hold too many."""
    plan = state.plan
    docs: list[Doc] = []
    for prefix in plan.prefixes:
        query = window_query(plan, prefix, {}, FIRST_SEEN, None, None)
        docs += await state.fetch(query)
        if len(docs) > WHOLE_RANGE_MAX:
            state.examined += len(docs)
            return None
    state.examined += len(docs)
    order = plan.order
    docs = [d for d in docs if order is not PostingOrder.SALARY_DESC or plausible_salary(d)]
    docs.sort(key=lambda d: doc_position(d, order), reverse=True)
    stop = state.take(docs, after=after.position if after is not None else None)
    return ScanResult(state.matches, stop, state.examined)


def _before(candidate: Position, position: Position) -> bool:
    """Whether `candidate` (a full position) comes after `position` in a descending order."""
    for value, bound in zip(candidate, position, strict=True):
        if bound is None:
            return False  # nothing equal so far lies below an open end
        assert value is not None
        if value != bound:
            return value < bound  # type: ignore[operator]
    return False


class _WidthSizer:
    """Windows of a width learned from the previous page (the cursor), from the last first page
    of the same shape, or a default; widened as far as the matches still needed call for."""

    def __init__(
        self,
        kind: KeyKind,
        depth: int,
        hint: int | None,
        memo: tuple[Any, ...] | None,
        anchor: datetime | None,
    ) -> None:
        self.kind = kind
        self.memo = memo
        default = _DEFAULT_WIDTH[kind] if depth == 0 else _DEEPER_WIDTH[kind]
        self.width = hint or default
        self.anchor = anchor
        self.top = 0

    def first(self, state: _Scan, hi: int | None) -> int | None:
        learned = _FIRST_WINDOWS.get(self.memo) if self.memo is not None else None
        if self.kind is KeyKind.MONEY:
            # A first page of pay (`hi`: the plausible maximum): where the last one filled up.
            self.top = hi if hi is not None else _FIRST_MONEY_LO
            if self.memo is not None:
                return min(self.top - 1, learned if learned is not None else _FIRST_MONEY_LO)
            return self.top - self.width
        if hi is not None:
            self.top = hi
            return hi - self.width
        self.top = time_key(self.anchor or datetime.now(UTC))
        if learned is not None:
            self.width = learned
        return self.top - self.width

    def next(self, state: _Scan, lo: int, found: int, read: int) -> int | None:
        if read == 0:
            growth = 16.0  # nothing there at all: the level may be over, get there quickly
        elif found == 0:
            growth = 4.0
        else:
            growth = min(_MAX_GROWTH, max(1.0, 1.25 * state.remaining / found))
        if read:
            growth = min(growth, max(1.0, (state.budget - state.examined) / read))
        self.width = max(_MIN_WIDTH[self.kind], int(self.width * growth))
        return lo - self.width

    def done(self, state: _Scan, keys: Sequence[int]) -> int | None:
        if self.memo is not None and keys:
            _remember(self.memo, self.kind, keys, self.top)
        if len(keys) < 2:
            return None
        span = max(keys) - min(keys)
        return max(_MIN_WIDTH[self.kind], int(span * state.need / (len(keys) - 1) * 1.25))


async def _windows(
    state: _Scan,
    pinned: Mapping[str, Any],
    depth: int,
    key: SortKey,
    hi: KeyValue | None,
    sizer: _WidthSizer,
    position: Position | None,
) -> ScanResult | None:
    """Read one level window by window, highest keys first; a result if the page ended in it
    (full, or out of budget), None once the level is read to its end."""
    floor = first_seen_floor(state.plan, state.clock) if key is FIRST_SEEN else None
    hard_floor = time_key(TIME_FLOOR) if key.kind is KeyKind.TIME else 0
    upper = None if hi is None else int(hi)
    lo = sizer.first(state, upper)
    level_keys: list[int] = []
    while True:
        last = lo is None
        if floor is not None and (lo is None or lo <= floor):
            lo, last = floor, True
        elif lo is not None and lo <= hard_floor:
            lo, last = None, True
        before = len(state.matches)
        docs = await state.read(pinned, key, lo, upper)
        stop = state.take(docs)
        level_keys += [int(_key_of(d, key)) for d in state.matches[before:]]
        if stop is not None:
            return ScanResult(state.matches, stop, state.examined, sizer.done(state, level_keys))
        if last:
            return None
        assert lo is not None
        if state.examined >= state.budget:
            # Out of budget: continue below this window next time (a position whose deeper keys
            # are open: everything at `lo` has been read).
            prefix = position[:depth] if position is not None else ()
            open_end = [None] * (len(SORT_KEYS[state.plan.order]) - depth - 1)
            return ScanResult(state.matches, (*prefix, lo, *open_end), state.examined)
        upper, lo = lo, sizer.next(state, lo, len(state.matches) - before, len(docs))


def _remember(memo_key: tuple[Any, ...], kind: KeyKind, keys: Sequence[int], top: int) -> None:
    """Where the next first page of this shape should start its first window."""
    if kind is KeyKind.TIME:
        value = max(_MIN_WIDTH[kind], int((top - min(keys)) * 1.25))
    else:
        value = max(0, min(keys) - (max(keys) - min(keys)) // 4)
    _FIRST_WINDOWS[memo_key] = value
    _FIRST_WINDOWS.move_to_end(memo_key)
    while len(_FIRST_WINDOWS) > _FIRST_WINDOWS_KEPT:
        _FIRST_WINDOWS.popitem(last=False)


# Per process: the first window that filled the last first page of each query shape.
_FIRST_WINDOWS: OrderedDict[tuple[Any, ...], int] = OrderedDict()


async def count(
    fetch: Fetch,
    plan: ScanPlan,
    clock: datetime | None,
    *,
    cap: int = COUNT_CAP,
    budget: int = COUNT_BUDGET,
    anchor: datetime | None = None,
    pay_counts: Mapping[int, int] | None = None,
) -> tuple[int, bool]:
    """(matches, exact): exact when every matching posting was counted, else a lower bound
    (at most `cap`)."""
    # One past the cap: reaching it means more remain.
    result = await scan(
        fetch,
        plan,
        None,
        cap + 1,
        clock,
        budget=budget,
        anchor=anchor,
        learn=False,
        pay_counts=pay_counts,
    )
    return min(cap, len(result.matches)), result.stopped_at is None


# ---- query cost -----------------------------------------------------------------------------

# Points a `postings` filter adds (services/graphql/cost.py): a filtered page may read up to
# PAGE_BUDGET postings to fill (~0.2 s on SecantusDB, at 5-17 us of API time per point the
# budget's measure, a fifth of the 5,000-point budget); its totalCount, when no rollup answers the
# filter (anything but metros, seniorities and work modes, or one skill alone), up to
# COUNT_BUDGET more, priced like a filtered role's postings path (services/graphql/filters.py).
PAGE_FILTER_COST = 400
COUNT_FILTER_COST = 1_000
_ROLLUP_INPUTS = frozenset({"metros", "seniorities", "workModes"})


def postings_filter_price(value: object) -> int:
    """Points the `filter` argument of `postings` adds, from its value as the request gives it
    (a dict of GraphQL input field names, or None)."""
    if not isinstance(value, dict):
        return 0
    given = {k for k, v in value.items() if v is not None}
    if not given:
        return 0
    skills = value.get("skills")
    one_skill = given == {"skills"} and isinstance(skills, list) and len(skills) == 1
    if given <= _ROLLUP_INPUTS or one_skill:
        return PAGE_FILTER_COST
    return PAGE_FILTER_COST + COUNT_FILTER_COST
