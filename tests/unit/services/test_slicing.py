"""Filter names and sources (services/graphql/slicing.py), over a fake read model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import pytest

from rolepulse.domain.filters import PostingFilter
from rolepulse.domain.lifecycle import PostingState
from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.domain.rollups import MAX_POSTINGS_READ, Counters
from rolepulse.schema.documents import RoleAggregateDoc
from rolepulse.services.graphql.errors import BadInputError
from rolepulse.services.graphql.filters import PostingFilter as FilterInput
from rolepulse.services.graphql.slicing import Slices

ROLE_DOC = RoleAggregateDoc(
    open=5,
    companies={"Scale AI": 2, "Acme%2Eio": 1, "ACME io": 1, "Globex": 1},
    skills={"Python": 4},
)


class FakeSlices:
    def __init__(self) -> None:
        self.reads: list[str] = []

    async def role_totals(self, slugs: Sequence[str]) -> dict[str, Counters]:
        self.reads.append("totals")
        return {slug: {"first_seen": {"2026-11-01": 5}} for slug in slugs}

    async def role_cells(self, slug: str, metros: Sequence[str | None] | None) -> list[Counters]:
        self.reads.append(f"cells {metros}")
        return [{"senior|remote": {"open": 2}, "mid|onsite": {"open": 3}}]

    async def role_skill(self, slug: str, skill: str) -> Counters:
        self.reads.append(f"skill {skill}")
        return {"open": 4}

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        self.reads.append(f"postings {len(queries)}")
        return []

    async def stream_clock(self) -> datetime | None:
        return None

    async def metro_names(self) -> frozenset[str]:
        return frozenset({"Pittsburgh"})

    async def market_counts(
        self, companies: Sequence[str], skills: Sequence[str]
    ) -> tuple[dict[str, int], dict[str, int]]:
        return {"Globex": 1}, {"Python": 9}


async def test_names_resolve_by_name_or_slug_in_any_case() -> None:
    slices = Slices(FakeSlices())
    raw = FilterInput(
        metros=["new-york", "PITTSBURGH"],
        skills=["python"],
        companies=["scale-ai", "acme.io", "GLOBEX", "Nobody"],
        seniorities=[Seniority.SENIOR],
        work_modes=[WorkMode.REMOTE],
    )
    f = await slices.resolve(raw, ROLE_DOC)
    assert f == PostingFilter(
        metros=frozenset({"New York", "Pittsburgh"}),
        seniorities=frozenset({Seniority.SENIOR}),
        work_modes=frozenset({WorkMode.REMOTE}),
        # "acme.io" names the exact employer; its slug is shared by "ACME io", found by case.
        companies=frozenset({"Scale AI", "Acme.io", "Globex"}),
        skills=frozenset({"Python"}),
    )
    assert await slices.resolve(None, ROLE_DOC) == PostingFilter()


@pytest.mark.parametrize(
    ("raw", "argument", "closest"),
    [
        (FilterInput(metros=["San Fransisco"]), "filter.metros", "San Francisco"),
        (FilterInput(skills=["Pytorch "]), None, None),  # found: case and spaces do not matter
        (FilterInput(skills=["Pytorhc"]), "filter.skills", "PyTorch"),
    ],
)
async def test_an_unknown_metro_or_skill_lists_the_closest_valid_names(
    raw: FilterInput, argument: str | None, closest: str | None
) -> None:
    slices = Slices(FakeSlices())
    if argument is None:
        await slices.resolve(raw, ROLE_DOC)
        return
    with pytest.raises(BadInputError) as caught:
        await slices.resolve(raw, ROLE_DOC)
    extensions = caught.value.extensions
    assert extensions["argument"] == argument
    assert extensions["validNames"][0] == closest
    assert len(extensions["validNames"]) <= 20


async def test_each_filter_reads_what_answers_it_once_per_request() -> None:
    model = FakeSlices()
    slices = Slices(model)
    cells = PostingFilter(seniorities=frozenset({Seniority.SENIOR}))
    figures = await slices.figures("llm-engineer", ROLE_DOC, cells)
    assert figures.counters == {"open": 2}
    assert figures.filtered
    await slices.figures("llm-engineer", ROLE_DOC, cells)
    skill = await slices.figures("llm-engineer", ROLE_DOC, PostingFilter(skills=frozenset({"Go"})))
    assert skill.counters == {"open": 4}
    assert await skill.part("companies") == {}  # from postings, read on demand
    companies = PostingFilter(companies=frozenset({"Globex"}))
    await slices.figures("llm-engineer", ROLE_DOC, companies)
    plain = slices.unfiltered("llm-engineer", ROLE_DOC)
    assert await plain.part("first_seen") == {"2026-11-01": 5}
    assert not plain.filtered
    # Totals only when asked for: first-seen days bound a postedWithinDays read, not these.
    assert model.reads == ["cells None", "skill Go", "postings 1", "postings 1", "totals"]


async def test_without_rollups_filters_are_refused_and_the_role_still_answers() -> None:
    slices = Slices(None)
    with pytest.raises(BadInputError):
        await slices.figures("x", ROLE_DOC, PostingFilter(metros=frozenset({"Boston"})))
    assert await slices.unfiltered("x", ROLE_DOC).part("company_pay") == {}


class CrowdedRange(FakeSlices):
    """A company's index range holding more counted postings than the read limit: its postings
    outside AI roles, which the market counters bounding the read never saw."""

    async def counted_postings(
        self, queries: Sequence[Mapping[str, Any]], limit: int
    ) -> list[PostingState]:
        return [cast(PostingState, None)] * limit


async def test_a_read_cut_short_by_the_limit_is_refused_not_summed() -> None:
    slices = Slices(CrowdedRange())
    companies = PostingFilter(companies=frozenset({"Globex"}))  # bound: 1 posting
    with pytest.raises(BadInputError) as refused:
        await slices.figures("llm-engineer", ROLE_DOC, companies)
    assert refused.value.extensions["scanMax"] == MAX_POSTINGS_READ + 1
