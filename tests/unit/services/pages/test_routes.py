"""The pages over the whole app and a fake read model: what each URL answers, its headers,
conditional requests, the response cache and rate limiting they share with GraphQL clients."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, parse

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.data_version import DataVersion
from rolepulse.services.graphql.cost import analyze, rolepulse_cost_model
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.pages import PAGE_CSP
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings
from rolepulse.taxonomy import load_taxonomy

QUERIES = Path(__file__).resolve().parents[4] / "services" / "pages" / "queries"
TAXONOMY = {
    "llm-engineer": RoleInfo("llm-engineer", "LLM Engineer", "Ships LLM apps.", ("Staff",)),
    "prompt-engineer": RoleInfo("prompt-engineer", "Prompt Engineer", "Writes prompts.", ()),
    "data-scientist": RoleInfo("data-scientist", "Data Scientist", "Models data.", ()),
}
PAIR = "/salaries/llm-engineer-vs-prompt-engineer/"


def salary(tops: dict[int, int]) -> dict[str, Any]:
    """Salary counters of postings whose range is [top - 40K, top], `count` of each."""
    n = sum(tops.values())
    return {
        "n": n,
        "sum_max": sum(t * c for t, c in tops.items()),
        "sum_min": sum((t - 40_000) * c for t, c in tops.items()),
        "sum_mid": sum((t - 20_000) * c for t, c in tops.items()),
        "hist_max": {str(t): c for t, c in tops.items()},
        "hist_min": {str(t - 40_000): c for t, c in tops.items()},
        "hist_mid": {str(t - 20_000): c for t, c in tops.items()},
    }


DOCS: dict[str, RoleAggregateDoc] = {
    "llm-engineer": {
        "_id": "llm-engineer",
        "open": 40,
        "work_mode": {"remote": 10, "onsite": 30},
        "seniority": {"senior": 20, "mid": 20},
        "skills": {"Python": 30, "RAG": 20, "AWS": 5},
        "companies": {"Google": 12, "Acme AI": 3},
        "metros": {"New York": 25, "Austin": 15},
        "salary": salary({200_000: 10, 250_000: 20}),  # type: ignore[typeddict-item]
    },
    "prompt-engineer": {
        "_id": "prompt-engineer",
        "open": 6,
        "work_mode": {"remote": 6},
        "seniority": {"mid": 6},
        "skills": {"Python": 4, "Prompt Engineering": 6},
        "companies": {"Acme AI": 6},
        "salary": salary({150_000: 4}),  # type: ignore[typeddict-item]
    },
}


class FakeReadModel:
    def __init__(self) -> None:
        self.role_reads = 0

    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        self.role_reads += 1
        return {s: DOCS[s] for s in slugs if s in DOCS}

    async def market(self) -> MarketAggregateDoc:
        roles = {"llm-engineer": 40, "prompt-engineer": 6}
        return {"_id": "market", "open_ai": 100, "roles": roles}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


async def never() -> int | None:
    raise AssertionError("the tests set the version themselves")


def version(current: int | None = 5) -> DataVersion:
    followed = DataVersion(never, 1.0)
    followed.current = current
    return followed


def client(
    model: FakeReadModel | None = None, data_version: DataVersion | None = None, **settings: Any
) -> httpx.AsyncClient:
    app = create_app(
        model or FakeReadModel(), TAXONOMY, ApiSettings(**settings), data_version=data_version
    )
    transport = httpx.ASGITransport(app=app, client=("198.51.100.4", 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


class Outline(HTMLParser):
    """What the structural checks need of a page (the e2e test also runs it in Chromium)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.unbalanced: list[str] = []
        self.text: dict[str, str] = {}
        self.current_data: list[str] = []
        self.feed(html)

    VOID = frozenset({"meta", "link", "br", "img", "input", "line", "circle", "rect", "polyline"})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.open or self.open[-1] != tag:
            self.unbalanced.append(tag)
        else:
            self.open.pop()

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def check_structure(html: str) -> Outline:
    """A page as the README promises: one h1, scoped table headers, unique ids, a title and a
    description, nothing inline that runs or styles."""
    assert html.startswith('<!doctype html>\n<html lang="en">')
    outline = Outline(html)
    assert outline.unbalanced == []
    assert outline.open == []
    assert len(outline.all("h1")) == 1
    assert all(attrs.get("scope") in ("col", "row") for attrs in outline.all("th"))
    ids = [attrs["id"] for _, attrs in outline.tags if attrs.get("id")]
    assert len(ids) == len(set(ids))
    assert re.search(r"<title>[^<]{10,}</title>", html)
    assert any(m.get("name") == "description" and m.get("content") for m in outline.all("meta"))
    for name, attrs in outline.tags:
        assert "style" not in attrs, name
        assert not any(a.startswith("on") for a in attrs), name
    for script in outline.all("script"):
        assert script.get("src") or script.get("type") == "application/json"
    return outline


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{re.escape(name)}">(.*?)</t[dh]>', html, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("&nbsp;", " ").strip()


async def test_the_comparison_page() -> None:
    async with client(data_version=version(5)) as http:
        response = await http.get(PAIR)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["cache-control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{12}-5"', response.headers["etag"])
    assert response.headers["x-content-type-options"] == "nosniff"
    html = response.text
    check_structure(html)
    assert "<title>LLM Engineer vs Prompt Engineer salary and skills · rolepulse</title>" in html
    assert (figure(html, "a-open"), figure(html, "b-open")) == ("40", "6")
    # Top of range by default; each salary figure with its n beside it.
    assert figure(html, "a-median") == "$250K n = 30"
    assert figure(html, "a-average") == "$233K n = 30"
    assert figure(html, "b-p25") == "$150K n = 4"
    assert figure(html, "a-range") == "$193K – $233K n = 30"
    assert re.search(r'data-figure="premium">56%<', html)  # 233,333 / 150,000 - 1
    # Prompt Engineer's 4 postings with pay: the low-sample warning, naming it.
    assert "only 4 Prompt Engineer" in re.sub(r"\s+", " ", html)
    assert '<strong aria-current="page">max of range</strong>' in html
    assert 'href="/salaries/llm-engineer-vs-prompt-engineer/?basis=midpoint"' in html
    assert '<li class="shared"><span class="skill">Python</span>' in html
    assert '<svg class="chart" id="salary-distribution"' in html
    live = json.loads(re.findall(r'id="rolepulse-live">(.*?)</script>', html)[0])
    assert live["etag"] == response.headers["etag"]
    assert live["endpoint"] == "/graphql"
    assert [s["variables"]["slug"] for s in live["subscriptions"]] == [
        "llm-engineer",
        "prompt-engineer",
    ]
    assert 'id="open-in-graphiql" href="/graphql#query=' in html


async def test_each_basis_is_its_own_page() -> None:
    async with client(data_version=version()) as http:
        minimum = await http.get(PAIR, params={"basis": "min"})
        bad = await http.get(PAIR, params={"basis": "average"})
    assert figure(minimum.text, "a-median") == "$210K n = 30"
    assert '<strong aria-current="page">min of range</strong>' in minimum.text
    assert bad.status_code == 400
    assert "basis must be one of max, midpoint, min" in bad.text
    check_structure(bad.text)


async def test_the_role_page() -> None:
    async with client(data_version=version()) as http:
        response = await http.get("/salaries/llm-engineer/")
    assert response.status_code == 200
    html = response.text
    check_structure(html)
    assert figure(html, "open") == "40"
    assert figure(html, "p90") == "$250K n = 30"
    assert 'href="/salaries/llm-engineer-vs-data-scientist/"' in html


async def test_an_unchanged_page_is_a_304_until_the_data_version_moves() -> None:
    model, followed = FakeReadModel(), version(5)
    async with client(model, followed) as http:
        first = await http.get(PAIR)
        reads = model.role_reads
        again = await http.get(PAIR, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == first.headers["etag"]
        # Another view at the same version: its query is answered by the response cache.
        assert (await http.get(PAIR)).text == first.text
        assert model.role_reads == reads
        followed.current = 6
        moved = await http.get(PAIR, headers={"If-None-Match": first.headers["etag"]})
    assert moved.status_code == 200
    assert moved.headers["etag"].endswith('-6"')
    assert model.role_reads > reads


async def test_without_a_data_version_no_etag_and_nothing_live() -> None:
    async with client() as http:
        response = await http.get(PAIR)
    assert response.status_code == 200
    assert "etag" not in response.headers
    assert "rolepulse-live" not in response.text
    assert "live.js" not in response.text


@pytest.mark.parametrize(
    ("path", "listed"),
    [
        ("/salaries/nobody/", 'href="/salaries/prompt-engineer/"'),
        ("/salaries/llm-engineer-vs-nobody/", 'href="/salaries/data-scientist/"'),
        ("/salaries/a/b/c/", 'href="/salaries/llm-engineer/"'),
        ("/salaries/level/staff/", 'href="/salaries/level/senior/"'),
    ],
)
async def test_unknown_names_are_html_404s_listing_the_valid_ones(path: str, listed: str) -> None:
    async with client(data_version=version()) as http:
        response = await http.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == PAGE_CSP
    assert response.headers["cache-control"] == "no-store"
    assert listed in response.text
    check_structure(response.text)


async def test_redirects() -> None:
    async with client(data_version=version()) as http:
        bare = await http.get("/salaries/llm-engineer", params={"basis": "min"})
        same = await http.get("/salaries/llm-engineer-vs-llm-engineer/")
        index = await http.get("/salaries")
    assert bare.status_code == 301
    assert bare.headers["location"] == "/salaries/llm-engineer/?basis=min"
    assert (same.status_code, same.headers["location"]) == (301, "/salaries/llm-engineer/")
    assert index.status_code in (301, 307)


async def test_pages_can_be_switched_off() -> None:
    async with client(data_version=version(), pages=False) as http:
        response = await http.get(PAIR)
    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_without_graphiql_the_query_is_shown_but_not_linked() -> None:
    async with client(data_version=version(), graphiql=False) as http:
        response = await http.get(PAIR)
    assert "open-in-graphiql" not in response.text
    assert "query ComparePage(" in response.text


async def test_a_page_is_charged_to_its_visitors_bucket() -> None:
    # A bucket of 1,000 points holds one comparison page (about 900), not two.
    settings: dict[str, Any] = {
        "rate_limit": True,
        "rate_limit_bucket": 1000,
        "rate_limit_restore_per_s": 1.0,
        "max_query_cost": 1000,
    }
    async with client(data_version=version(), **settings) as http:
        assert (await http.get(PAIR)).status_code == 200
        refused = await http.get(PAIR)
        # The response cache holds the answer: it is charged all the same.
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "over your rate limit" in refused.text
        # The same bucket as a GraphQL client at that address.
        query = {"query": "{ market { openPositions } }"}
        body = (await http.post("/graphql", json=query)).json()
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 200


async def test_the_assets_are_immutable_under_their_digest() -> None:
    async with client(data_version=version()) as http:
        page = await http.get(PAIR)
        urls = re.findall(r'(?:href|src)="(/pages/static/[^"]+)"', page.text)
        assert sorted(u.rsplit("/", 1)[1] for u in urls) == ["live.js", "pages.css"]
        for url in urls:
            asset = await http.get(url)
            assert asset.status_code == 200
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            again = await http.get(url, headers={"If-None-Match": asset.headers["etag"]})
            assert again.status_code == 304
        stale = await http.get(re.sub(r"/static/\w+/", "/static/000000000000/", urls[0]))
    assert stale.status_code == 404


def test_aliased_queries_name_every_taxonomy_role() -> None:
    """level.graphql holds one aliased `role` per taxonomy role, in taxonomy order."""
    roles = list(load_taxonomy().roles)
    document = parse((QUERIES / "level.graphql").read_text())
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    fields = operation.selection_set.selections[1:]  # after `market`
    aliases = [f.alias.value for f in fields if getattr(f, "alias", None)]  # type: ignore[attr-defined]
    assert aliases == [slug.replace("-", "_") for slug in roles]
    assert re.findall(r'slug: "([^"]+)"', (QUERIES / "level.graphql").read_text()) == roles


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("compare", {"a": "llm-engineer", "b": "data-scientist", "basis": "MAX"}),
        ("role", {"slug": "llm-engineer", "basis": "MAX"}),
        ("level", {"level": "SENIOR", "basis": "MAX"}),
        ("metro", {"metro": "new-york", "basis": "MAX"}),
        ("company", {"company": "google", "basis": "MAX"}),
        ("index", {"basis": "MAX"}),
        ("live_role", {"slug": "llm-engineer", "basis": "MAX", "filter": {"seniorities": ["MID"]}}),
    ],
)
def test_every_page_query_is_well_within_the_budget(name: str, variables: dict[str, Any]) -> None:
    roles = load_taxonomy().roles
    settings = ApiSettings()
    model = rolepulse_cost_model(build_schema(settings, roles)._schema, roles)
    cost = analyze(model, parse((QUERIES / f"{name}.graphql").read_text()), variables, None)
    # A page is a client like any other: at most half the budget, so it never nears a refusal.
    assert cost.cost <= settings.max_query_cost / 2, cost
    assert cost.nodes <= settings.max_query_nodes / 2, cost
