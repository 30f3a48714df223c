"""What each page template gets: the GraphQL answer as it came, plus what is derived from it for
display (charts, marks, links, sentences). Pure functions of the answer; no I/O."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from rolepulse.services.pages import fmt
from rolepulse.services.pages.charts import Bucket, Chart, histogram_chart, line_chart
from rolepulse.services.pages.slugs import DEFAULT_BASIS, Basis

BUCKET_WIDTH = 20_000  # the queries' `histogram(bucketWidth:)`
Role = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    href: str
    current: bool = False


@dataclass(frozen=True, slots=True)
class Trend:
    """Both roles' weekly figures on one axis of weeks (a role may start later than another)."""

    weeks: tuple[str, ...]  # "Oct 26", the Monday of each ISO week
    open_positions: Chart | None
    median: Chart | None
    rows: tuple[tuple[str, tuple[Mapping[str, Any] | None, ...]], ...]  # week, point per role


def basis_links(path: str, current: Basis) -> list[Link]:
    """The page under each salary basis; the default basis is the bare path."""
    return [
        Link(b.label, path if b is DEFAULT_BASIS else f"{path}?basis={b.value}", b is current)
        for b in Basis
    ]


def graphiql_href(root_path: str, query: str, variables: Mapping[str, Any]) -> str:
    """GraphiQL with this query and these variables in the editor.

    In the fragment, which never reaches the server: a query string with `query` in it would
    be a GraphQL GET to run, not the IDE to open (services/graphiql/static/rolepulse-graphiql.js
    reads the fragment).
    """
    fragment = urlencode(
        {"query": query, "variables": json.dumps(dict(variables), indent=2)}, quote_via=quote
    )
    return f"{root_path}/graphql#{fragment}"


def buckets(role: Role) -> list[Bucket]:
    return [Bucket(b["from"], b["to"], b["count"]) for b in role["salary"]["histogram"]]


def salary_chart(roles: Sequence[Role]) -> Chart | None:
    return histogram_chart(
        [buckets(r) for r in roles], BUCKET_WIDTH, fmt.money, [r["title"] for r in roles]
    )


def week_label(week_start: str) -> str:
    day = date.fromisoformat(week_start)
    return f"{day:%b} {day.day}"


def trend(roles: Sequence[Role]) -> Trend:
    by_week: dict[str, list[Mapping[str, Any] | None]] = {}
    for index, role in enumerate(roles):
        for point in role["weeklyTrend"]:
            by_week.setdefault(point["weekStart"], [None] * len(roles))[index] = point
    starts = sorted(by_week)
    labels = [week_label(s) for s in starts]
    names = [r["title"] for r in roles]

    def values(index: int, pick: str) -> list[float | None]:
        out: list[float | None] = []
        for start in starts:
            point = by_week[start][index]
            if point is None:
                out.append(None)
            elif pick == "open":
                out.append(point["openPositions"])
            else:
                out.append(point["salary"]["median"])
        return out

    series = range(len(roles))
    return Trend(
        weeks=tuple(labels),
        open_positions=line_chart(
            labels, [values(i, "open") for i in series], fmt.count_of, names, zero_based=True
        ),
        median=line_chart(
            labels, [values(i, "median") for i in series], fmt.money, names, zero_based=False
        ),
        rows=tuple(
            (label, tuple(by_week[start])) for label, start in zip(labels, starts, strict=True)
        ),
    )


def low_confidence(roles: Sequence[Role]) -> list[Role]:
    """The roles whose salary figures rest on too few postings (`lowConfidence`: n < 10)."""
    return [r for r in roles if r["lowConfidence"]]


def compare_description(data: Mapping[str, Any]) -> str:
    cmp = data["compareRoles"]
    a, b = cmp["a"], cmp["b"]
    return (
        f"{cmp['verdict']}. Open positions: {fmt.count(a['openPositions'])} vs "
        f"{fmt.count(b['openPositions'])}; median {fmt.money(a['salary']['median'])} vs "
        f"{fmt.money(b['salary']['median'])}; {cmp['switching']['sharedSkillCount']} of the "
        "top 8 skills shared."
    )


def role_description(role: Role) -> str:
    salary = role["salary"]
    return (
        f"{role['title']}: {fmt.count(role['openPositions'])} open positions, median salary "
        f"{fmt.money(salary['median'])} ({salary['n']} postings with disclosed pay), "
        f"{fmt.pct(role['remotePct'])} remote. {role['focus']}"
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    higher: Role
    lower: Role
    premium: float  # how much more the higher-paid role pays on average, in percent


def verdict(comparison: Mapping[str, Any]) -> Verdict | None:
    """Which role pays more and by how much, said of the higher-paid one.

    `premiumPct` is a's premium over b, p = a / b - 1; when b pays more, b's premium over a is
    b / a - 1 = 1 / (1 + p) - 1 (a is 20% below b: b pays 25% more, not 20%).
    """
    premium, higher = comparison["premiumPct"], comparison["higherPaid"]
    if premium is None or higher is None:
        return None
    a, b = comparison["a"], comparison["b"]
    if higher["slug"] == a["slug"]:
        return Verdict(a, b, premium)
    return Verdict(b, a, (1 / (1 + premium / 100) - 1) * 100)
