"""What the templates get besides the answer: the verdict, trends, links."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from rolepulse.services.pages.slugs import Basis
from rolepulse.services.pages.views import (
    basis_links,
    graphiql_href,
    low_confidence,
    trend,
    verdict,
    week_label,
)


def role(slug: str, average: float | None, weeks: list[tuple[str, int, float | None]]) -> Any:
    return {
        "slug": slug,
        "title": slug.upper(),
        "lowConfidence": average is None,
        "salary": {"average": average, "n": 0 if average is None else 20},
        "weeklyTrend": [
            {"weekStart": start, "openPositions": open_, "salary": {"n": 5, "median": median}}
            for start, open_, median in weeks
        ],
    }


def test_the_verdict_names_the_higher_paid_role_and_its_own_premium() -> None:
    a, b = role("a", 249_000, []), role("b", 194_000, [])
    said = verdict({"premiumPct": 28.35, "higherPaid": {"slug": "a"}, "a": a, "b": b})
    assert said is not None
    assert (said.higher["slug"], said.lower["slug"], said.premium) == ("a", "b", 28.35)
    # b pays more: a is 20% below b, so b pays 25% more than a (not 20%).
    said = verdict({"premiumPct": -20.0, "higherPaid": {"slug": "b"}, "a": a, "b": b})
    assert said is not None
    assert said.higher["slug"] == "b"
    assert said.premium == pytest.approx(25.0)


def test_no_verdict_without_pay_or_when_equal() -> None:
    a, b = role("a", None, []), role("b", None, [])
    assert verdict({"premiumPct": None, "higherPaid": None, "a": a, "b": b}) is None
    assert verdict({"premiumPct": 0.0, "higherPaid": None, "a": a, "b": b}) is None


def test_trends_of_two_roles_are_aligned_by_week() -> None:
    a = role("a", 1.0, [("2026-10-26", 10, 200_000.0), ("2026-11-02", 20, 210_000.0)])
    b = role("b", 1.0, [("2026-11-02", 5, None)])  # starts a week later, no pay that week
    t = trend([a, b])
    assert t.weeks == ("Oct 26", "Nov 2")
    assert [week for week, _ in t.rows] == ["Oct 26", "Nov 2"]
    assert t.rows[0][1][1] is None  # b has no point that week
    assert t.open_positions is not None
    assert t.median is not None
    assert [len(line.points) for line in t.open_positions.lines] == [2, 1]
    assert [len(line.points) for line in t.median.lines] == [2, 0]


def test_no_history_no_charts() -> None:
    t = trend([role("a", 1.0, [])])
    assert (t.weeks, t.open_positions, t.median, t.rows) == ((), None, None, ())


def test_week_label() -> None:
    assert week_label("2026-11-02") == "Nov 2"


def test_basis_links_keep_the_default_on_the_bare_path() -> None:
    links = basis_links("/salaries/x/", Basis.MIN)
    assert [(link.href, link.current) for link in links] == [
        ("/salaries/x/", False),
        ("/salaries/x/?basis=midpoint", False),
        ("/salaries/x/?basis=min", True),
    ]


def test_graphiql_href_carries_query_and_variables_in_the_fragment() -> None:
    query = "query Q($a: String!) { role(slug: $a) { title } } # & = ? #"
    href = graphiql_href("/api", query, {"a": "ai-software-engineer"})
    url = urlsplit(href)
    assert (url.path, url.query) == ("/api/graphql", "")  # nothing for the server to run
    params = parse_qs(url.fragment)
    assert params["query"] == [query]
    assert json.loads(params["variables"][0]) == {"a": "ai-software-engineer"}


def test_low_confidence() -> None:
    assert [r["slug"] for r in low_confidence([role("a", None, []), role("b", 1.0, [])])] == ["a"]
