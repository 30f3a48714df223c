"""The drill-down's engine without a database (services/postings_query.py, postings_read.py):
cursors, the choice of index, query shapes, and keyset paging over an in-memory store that
answers each window query the way an index range would."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rolepulse.demo.synthetic_postings import START, MarketShape, company_name, posting_docs
from rolepulse.domain.filters import NO_FILTER, PostingFilter
from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.domain.salary import IMPLAUSIBLE_FLAG
from rolepulse.schema.postings_indexes import (
    BY_COMPANY_FIRST_SEEN,
    BY_FIRST_SEEN,
    BY_ROLE_FIRST_SEEN,
    BY_ROLE_SALARY,
    BY_SKILL_FIRST_SEEN,
)
from rolepulse.services import postings_query as pq
from rolepulse.services.postings_query import (
    Cursor,
    CursorError,
    PostingOrder,
    Strategy,
    choose_plan,
    doc_position,
    postings_filter_price,
    time_key,
    window_query,
)
from rolepulse.services.postings_read import Page, read_page

Doc = dict[str, Any]
FS = PostingOrder.FIRST_SEEN_DESC
PAY = PostingOrder.SALARY_DESC
SHAPE = MarketShape.default(companies=60)
ROLES = SHAPE.roles
ROLE = ROLES[0]
N = 3_000
DOCS = list(posting_docs(SHAPE, seed=3, n=N))
CLOCK = START + SHAPE.span


# ---- an in-memory store answering index-range queries ---------------------------------------


def _value(doc: Mapping[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    for path, condition in query.items():
        value = _value(doc, path)
        if isinstance(condition, dict):
            if value is None or isinstance(value, list):
                return False
            if "$gte" in condition and not value >= condition["$gte"]:
                return False
            if "$lt" in condition and not value < condition["$lt"]:
                return False
        elif isinstance(value, list):
            if condition not in value:
                return False
        elif value != condition:
            return False
    return True


_TABLED = ("role", "company", "skills", "salary.annual_max_usd")


class FakeSource:
    """Answers window queries like an index range: equalities, then one [$gte, $lt) range."""

    def __init__(self, docs: Iterable[dict[str, Any]]) -> None:
        self.docs = {d["_id"]: d for d in docs}
        self.queries: list[dict[str, Any]] = []
        self._by_field: dict[tuple[str, Any], list[str]] | None = None

    def put(self, doc: dict[str, Any]) -> None:
        self.docs[doc["_id"]] = doc
        self._by_field = None

    def _candidates(self, query: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
        # A lookup table by each equality, so thousands of windows stay fast.
        if self._by_field is None:
            self._by_field = {}
            for d in self.docs.values():
                for field in _TABLED:
                    value = _value(d, field)
                    for v in value if isinstance(value, list) else [value]:
                        self._by_field.setdefault((field, v), []).append(d["_id"])
        pinned = [(k, v) for k, v in query.items() if not isinstance(v, dict) and k in _TABLED]
        if not pinned:
            return self.docs.values()
        ids = min((self._by_field.get(p, []) for p in pinned), key=len)
        return (self.docs[i] for i in ids)

    async def fetch(self, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        self.queries.append(dict(query))
        ranges = [k for k, v in query.items() if isinstance(v, dict)]
        assert len(ranges) == 1, query  # one range, after equalities: an index range
        return [dict(d) for d in self._candidates(query) if _matches(d, query)]

    async def clock(self) -> datetime | None:
        return CLOCK

    scope = "fake"

    async def role_counters(self, slugs: Sequence[str], paths: Sequence[str]) -> list[Doc]:
        return []

    async def open_cluster_sizes(self, cluster_ids: Sequence[str]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for d in self.docs.values():
            if d["open"] and d["cluster_id"] in cluster_ids:
                sizes[d["cluster_id"]] = sizes.get(d["cluster_id"], 0) + 1
        return sizes


# ---- an independent statement of what a listing holds ---------------------------------------


def expected(
    docs: Iterable[Mapping[str, Any]],
    f: PostingFilter,
    role: str | None,
    order: PostingOrder,
    clock: datetime | None = CLOCK,
) -> list[str]:
    def keep(d: Mapping[str, Any]) -> bool:
        if not d["open"] or d.get("counted") is False or d["role"] is None:
            return False
        if role is not None and d["role"] != role:
            return False
        if order is PAY and (d["salary"] is None or IMPLAUSIBLE_FLAG in d["flags"]):
            return False
        if f.metros is not None and d["metro"] not in f.metros:
            return False
        if f.seniorities is not None and d["seniority"] not in {s.value for s in f.seniorities}:
            return False
        if f.work_modes is not None and d["work_mode"] not in {m.value for m in f.work_modes}:
            return False
        if f.companies is not None and d["company"] not in f.companies:
            return False
        if f.skills is not None and not set(f.skills) <= set(d["skills"]):
            return False
        if f.posted_within_days is not None:
            assert clock is not None
            return bool(d["first_seen_at"] >= clock - timedelta(days=f.posted_within_days))
        return True

    def key(d: Mapping[str, Any]) -> tuple[Any, ...]:
        pay = (d["salary"]["annual_max_usd"],) if order is PAY else ()
        return (*pay, d["first_seen_at"], d["_id"])

    return [d["_id"] for d in sorted(filter(keep, docs), key=key, reverse=True)]


def pay_counts(docs: Iterable[Mapping[str, Any]], role: str | None) -> dict[int, int]:
    """Open jobs per annual max USD: what the roles' aggregates hold as `salary.hist_max`."""
    by_id = {d["_id"]: d for d in docs}
    counts: dict[int, int] = {}
    for key in expected(by_id.values(), NO_FILTER, role, PAY):
        pay = by_id[key]["salary"]["annual_max_usd"]
        counts[pay] = counts.get(pay, 0) + 1
    return counts


async def all_pages(
    source: FakeSource,
    f: PostingFilter,
    role: str | None,
    order: PostingOrder,
    first: int,
    *,
    budget: int = pq.PAGE_BUDGET,
    between: Any = None,
    histogram: bool = True,
) -> tuple[list[str], list[Page]]:
    plan = choose_plan(f, role, order, ROLES)
    counts = pay_counts(source.docs.values(), role) if histogram and order is PAY else None
    after: Cursor | None = None
    ids: list[str] = []
    pages: list[Page] = []
    for _ in range(10_000):
        page = await read_page(source, plan, after, first, CLOCK, budget=budget, pay_counts=counts)
        pages.append(page)
        assert len(page.docs) <= first
        ids += [d["_id"] for d in page.docs]
        if not page.has_next:
            assert page.end_cursor == (page.cursors[-1] if page.cursors else None)
            return ids, pages
        assert page.end_cursor is not None
        after = Cursor.decode(page.end_cursor, order)
        if between is not None:
            between(len(pages))
    raise AssertionError("paging did not end")


# ---- cursors --------------------------------------------------------------------------------


def test_a_cursor_round_trips_and_is_opaque_base64_of_small_json() -> None:
    cursor = Cursor(PAY, (250_000, time_key(START), "lever:1"), width=1234)
    text = cursor.encode()
    assert Cursor.decode(text, PAY) == cursor
    assert "=" not in text
    assert len(text) < 120
    body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    assert body == {"v": 1, "o": "sal", "p": [250_000, time_key(START), "lever:1"], "w": 1234}
    stopped = Cursor(FS, (time_key(START), None))  # where a scan stopped between postings
    assert Cursor.decode(stopped.encode(), FS) == stopped


def _raw(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


GOOD = [time_key(START), "lever:1"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not a cursor!",
        "%%%%",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _raw([1, 2]),
        _raw("text"),
        _raw({"v": 2, "o": "fs", "p": GOOD}),
        _raw({"v": 1, "o": "sal", "p": GOOD}),  # another order's
        _raw({"v": 1, "o": "fs", "p": GOOD, "x": 1}),
        _raw({"v": 1, "o": "fs", "p": [time_key(START)]}),
        _raw({"v": 1, "o": "fs", "p": [True, "lever:1"]}),
        _raw({"v": 1, "o": "fs", "p": [1.5, "lever:1"]}),
        _raw({"v": 1, "o": "fs", "p": [10**18, "lever:1"]}),
        _raw({"v": 1, "o": "fs", "p": [time_key(START), 7]}),
        _raw({"v": 1, "o": "fs", "p": [None, "lever:1"]}),
        _raw({"v": 1, "o": "fs", "p": [None, None]}),
        _raw({"v": 1, "o": "fs", "p": [time_key(START), "x" * 10_000]}),
        _raw({"v": 1, "o": "fs", "p": GOOD, "w": -5}),
        _raw({"v": 1, "o": "fs", "p": GOOD, "w": "wide"}),
        "A" * 5_000,
    ],
)
def test_a_tampered_cursor_is_refused(text: str) -> None:
    with pytest.raises(CursorError):
        Cursor.decode(text, FS)


def test_a_tampered_but_well_formed_cursor_is_just_a_position() -> None:
    # A cursor is not a secret: a hand-made position is answered like any other.
    assert Cursor.decode(_raw({"v": 1, "o": "fs", "p": GOOD}), FS).position == tuple(GOOD)


# ---- which index ----------------------------------------------------------------------------


def test_each_filter_is_read_through_the_narrowest_index() -> None:
    companies = PostingFilter(companies=frozenset({"B", "A"}))
    skills = PostingFilter(skills=frozenset({"Rust", "Python"}))
    plan = choose_plan(NO_FILTER, None, FS, ROLES)
    assert (plan.index, plan.prefixes) == (BY_FIRST_SEEN, ({"open": True},))
    plan = choose_plan(NO_FILTER, ROLE, FS, ROLES)
    assert (plan.index, plan.prefixes) == (BY_ROLE_FIRST_SEEN, ({"open": True, "role": ROLE},))
    plan = choose_plan(companies, ROLE, FS, ROLES)
    assert plan.index == BY_COMPANY_FIRST_SEEN
    assert [p["company"] for p in plan.prefixes] == ["A", "B"]  # one range per company
    # Market-wide, a skill's range is narrower than every posting's: the rarest skill drives.
    counts = {"Rust": 5, "Python": 50}
    plan = choose_plan(skills, None, FS, ROLES, counts)
    assert (plan.index, plan.prefixes) == (BY_SKILL_FIRST_SEEN, ({"open": True, "skills": "Rust"},))
    # Within a role, the skill drives only when it is rare there.
    assert choose_plan(skills, ROLE, FS, ROLES, counts, role_open=100).index == BY_SKILL_FIRST_SEEN
    assert choose_plan(skills, ROLE, FS, ROLES, counts, role_open=20).index == BY_ROLE_FIRST_SEEN
    assert choose_plan(skills, ROLE, FS, ROLES).index == BY_ROLE_FIRST_SEEN
    # By pay: the role's salary range; market-wide, one per role.
    assert choose_plan(NO_FILTER, ROLE, PAY, ROLES).prefixes == ({"open": True, "role": ROLE},)
    assert len(choose_plan(NO_FILTER, None, PAY, ROLES).prefixes) == len(ROLES)
    plan = choose_plan(companies, None, PAY, ROLES)
    assert (plan.strategy, plan.index) == (Strategy.WHOLE_RANGE, BY_COMPANY_FIRST_SEEN)
    assert plan.fallback is not None
    assert plan.fallback.index == BY_ROLE_SALARY
    # An empty dimension matches nothing; nothing is read.
    assert choose_plan(PostingFilter(metros=frozenset()), ROLE, FS, ROLES).empty


def test_a_window_is_equalities_on_the_index_prefix_and_one_range() -> None:
    plan = choose_plan(NO_FILTER, ROLE, PAY, ROLES)
    prefix = plan.prefixes[0]
    pinned = {"salary.annual_max_usd": 200_000}
    query = window_query(plan, prefix, pinned, pq.FIRST_SEEN, 1_000, 2_000)
    lo, hi = pq.time_value(1_000), pq.time_value(2_000)
    assert query == {
        "open": True,
        "role": ROLE,
        "salary.annual_max_usd": 200_000,
        "first_seen_at": {"$gte": lo, "$lt": hi},
    }
    # Every field of a window query is a field of the plan's index, in its order.
    assert list(query) == list(BY_ROLE_SALARY.fields[: len(query)])
    # Unbounded on both sides still names a range: a bare prefix of a partial index is a
    # collection scan on SecantusDB.
    assert window_query(plan, prefix, {}, pq.ANNUAL_MAX, None, None)["salary.annual_max_usd"] == {
        "$gte": float("-inf")
    }


# ---- paging ---------------------------------------------------------------------------------

CASES = [
    (NO_FILTER, None, FS),
    (NO_FILTER, ROLE, FS),
    (NO_FILTER, ROLE, PAY),
    (NO_FILTER, None, PAY),
    (PostingFilter(metros=frozenset({"San Francisco", "New York"})), None, FS),
    (PostingFilter(seniorities=frozenset({Seniority.SENIOR, Seniority.LEAD})), ROLE, FS),
    (PostingFilter(work_modes=frozenset({WorkMode.REMOTE})), ROLE, PAY),
    (PostingFilter(companies=frozenset({company_name(0), company_name(7)})), None, FS),
    (PostingFilter(companies=frozenset({company_name(0), company_name(7)})), None, PAY),
    (PostingFilter(companies=frozenset({company_name(1)})), ROLE, PAY),
    (PostingFilter(skills=frozenset({SHAPE.skills[0]})), None, FS),
    (PostingFilter(skills=frozenset({SHAPE.skills[0], SHAPE.skills[2]})), ROLE, FS),
    (PostingFilter(posted_within_days=5), None, FS),
    (PostingFilter(posted_within_days=5), ROLE, PAY),
    (
        PostingFilter(
            metros=frozenset({"San Francisco"}),
            seniorities=frozenset({Seniority.MID}),
            work_modes=frozenset({WorkMode.ONSITE, WorkMode.HYBRID}),
        ),
        ROLE,
        FS,
    ),
]


@pytest.mark.parametrize(("f", "role", "order"), CASES)
async def test_pages_concatenate_to_the_filtered_set_in_order(
    f: PostingFilter, role: str | None, order: PostingOrder
) -> None:
    want = expected(DOCS, f, role, order)
    assert want, "a case that lists nothing tests nothing"
    for first, histogram in ((1, True), (7, True), (100, True), (7, False)):
        if (first == 1 and len(want) > 150) or (not histogram and order is FS):
            continue
        source = FakeSource(DOCS)
        got, pages = await all_pages(source, f, role, order, first, histogram=histogram)
        assert got == want
        assert all(len(p.docs) == first for p in pages[:-1])  # full pages within the budget
        # Each page reads a few windows, not the store.
        assert len(source.queries) / len(pages) <= 12 * len(
            choose_plan(f, role, order, ROLES).prefixes
        )


async def test_a_scan_out_of_budget_returns_a_short_page_that_continues_where_it_stopped() -> None:
    # One rare dimension checked on the role's range: pages stop at the budget, some empty.
    f = PostingFilter(
        seniorities=frozenset({Seniority.EXECUTIVE}), work_modes=frozenset({WorkMode.HYBRID})
    )
    want = expected(DOCS, f, ROLE, FS)
    source = FakeSource(DOCS)
    got, pages = await all_pages(source, f, ROLE, FS, 5, budget=20)
    assert got == want
    short = [p for p in pages[:-1] if len(p.docs) < 5]
    assert short, "the budget never cut a page short"
    assert all(p.has_next and p.end_cursor for p in short)
    assert all(p.examined < 20 + 200 for p in pages)  # bounded by the budget, plus one window


async def test_pages_stay_exact_while_postings_come_and_go_between_them() -> None:
    """Keyset pages: a posting present throughout appears once, in order; one added behind the
    cursor is met later, one added before it is not; one closed before it is reached is not."""
    docs = [dict(d) for d in DOCS[: N // 2]]
    source = FakeSource(docs)
    later = list(posting_docs(SHAPE, seed=3, n=N, start=N // 2, stop=N))  # newer first seen
    older = [
        d | {"_id": f"old:{d['_id']}", "first_seen_at": d["first_seen_at"] - timedelta(days=40)}
        for d in later[:200]
    ]
    closed: set[str] = set()
    seen_positions: list[tuple[Any, ...]] = []

    def between(page_number: int) -> None:
        # Newer postings arrive (before the cursor), older ones too (behind it), and some
        # postings not yet reached close.
        for d in later[page_number * 20 : page_number * 20 + 20]:
            source.put(d)
        for d in older[page_number * 5 : page_number * 5 + 5]:
            source.put(d)
        victim = DOCS[(N // 2) - 1 - page_number * 3]
        if victim["_id"] in source.docs:
            source.put(source.docs[victim["_id"]] | {"open": False})
            closed.add(victim["_id"])

    got, pages = await all_pages(source, NO_FILTER, ROLE, FS, 10, between=between)
    assert len(got) == len(set(got)), "a posting was listed twice"
    for page in pages:
        seen_positions += [doc_position(d, FS) for d in page.docs]
    assert seen_positions == sorted(seen_positions, reverse=True), "out of order"
    stable = set(expected(docs, NO_FILTER, ROLE, FS)) - closed
    assert stable <= set(got), "a posting present throughout was skipped"
    assert not set(got) & {d["_id"] for d in later}, "a posting newer than the cursor appeared"
    added_behind = set(expected(older, NO_FILTER, ROLE, FS)) & set(source.docs)
    assert added_behind <= set(got)


async def test_postings_seen_within_days_need_a_clock() -> None:
    plan = choose_plan(PostingFilter(posted_within_days=3), None, FS, ROLES)
    source = FakeSource(DOCS)
    page = await read_page(source, plan, None, 10, None)
    assert (page.docs, page.has_next, source.queries) == ([], False, [])


async def test_a_first_page_reads_one_window_once_its_shape_is_known() -> None:
    source = FakeSource(DOCS)
    plan = choose_plan(NO_FILTER, ROLE, FS, ROLES)
    await read_page(source, plan, None, 20, CLOCK)
    source.queries.clear()
    page = await read_page(source, plan, None, 20, CLOCK)
    assert len(source.queries) == 1
    assert page.examined < 60  # about a page, not the role
    # And the next page starts with the width that filled this one.
    source.queries.clear()
    assert page.end_cursor is not None
    await read_page(source, plan, Cursor.decode(page.end_cursor, FS), 20, CLOCK)
    assert len(source.queries) <= 3  # ties at the cursor's time, then a window or two


async def test_counts_are_exact_below_the_cap_and_a_lower_bound_above() -> None:
    source = FakeSource(DOCS)
    f = PostingFilter(companies=frozenset({company_name(0)}))
    plan = choose_plan(f, None, FS, ROLES)
    assert await pq.count(source.fetch, plan, CLOCK) == (len(expected(DOCS, f, None, FS)), True)
    plan = choose_plan(NO_FILTER, None, FS, ROLES)
    n, exact = await pq.count(source.fetch, plan, CLOCK, cap=100)
    assert (n, exact) == (100, False)
    n, exact = await pq.count(source.fetch, plan, CLOCK, budget=50)
    assert not exact
    assert n < len(expected(DOCS, NO_FILTER, None, FS))


async def test_a_company_too_large_to_order_in_memory_is_read_by_pay_windows() -> None:
    f = PostingFilter(companies=frozenset({company_name(0)}))
    want = expected(DOCS, f, None, PAY)
    source = FakeSource(DOCS)
    original = pq.WHOLE_RANGE_MAX
    pq.WHOLE_RANGE_MAX = 10
    try:
        got, _ = await all_pages(source, f, None, PAY, 10)
    finally:
        pq.WHOLE_RANGE_MAX = original
    assert got == want
    assert any("salary.annual_max_usd" in q for q in source.queries)


def test_postings_filters_are_priced_by_what_they_may_read() -> None:
    assert postings_filter_price(None) == 0
    assert postings_filter_price({"metros": None}) == 0
    assert postings_filter_price({"metros": ["x"]}) == pq.PAGE_FILTER_COST
    assert postings_filter_price({"skills": ["Rust"]}) == pq.PAGE_FILTER_COST
    assert postings_filter_price({"skills": ["Rust", "Go"]}) == (
        pq.PAGE_FILTER_COST + pq.COUNT_FILTER_COST
    )
    assert postings_filter_price({"companies": ["x"]}) > pq.PAGE_FILTER_COST
    assert postings_filter_price({"postedWithinDays": 3}) > pq.PAGE_FILTER_COST


def test_the_synthetic_market_has_what_paging_must_cope_with() -> None:
    times = [d["first_seen_at"] for d in DOCS]
    assert len(set(times)) < len(times)  # ties in first seen
    pays = [d["salary"]["annual_max_usd"] for d in DOCS if d["salary"]]
    assert len(set(pays)) < len(pays) / 10  # many ties in pay
    assert any(d["counted"] is False for d in DOCS)
    assert any(d["role"] is None for d in DOCS)
    assert any(not d["open"] for d in DOCS)
    assert all(d["first_seen_at"].tzinfo is UTC for d in DOCS)
    assert datetime(2026, 9, 1, tzinfo=UTC) == START


async def test_a_salary_shared_by_many_postings_is_read_by_time_windows() -> None:
    # Half the paid postings at one round figure: pages inside it read a page's worth each.
    docs = [
        d | {"salary": d["salary"] | {"annual_max_usd": 200_000}}
        if d["salary"] is not None and i % 2 == 0
        else d
        for i, d in enumerate(DOCS)
    ]
    want = expected(docs, NO_FILTER, None, PAY)
    source = FakeSource(docs)
    got, pages = await all_pages(source, NO_FILTER, None, PAY, 10)
    assert got == want
    tied = sum(1 for i in want if source.docs[i]["salary"]["annual_max_usd"] == 200_000)
    assert tied > 300
    assert max(p.examined for p in pages) < tied / 2
    assert any("first_seen_at" in q and "salary.annual_max_usd" in q for q in source.queries)
