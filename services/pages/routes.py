"""The pages' routes: which query and template each URL is (serve.py serves them), and the
HTML 404s and 400s of URLs that name nothing, listing what exists instead."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from rolepulse.domain.filters import slugify
from rolepulse.domain.model import Seniority
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.data_version import DataVersion
from rolepulse.services.pages import fmt, slugs, views
from rolepulse.services.pages.serve import Data, Page, PageServer, root_path
from rolepulse.services.pages.views import Link


class Pages:
    """The page routes over `graphql`, the ASGI chain behind `POST /graphql`."""

    def __init__(
        self,
        graphql: ASGIApp,
        roles: Mapping[str, RoleInfo],
        version: DataVersion | None,
        *,
        graphiql: bool,
        key_header: str = "x-api-key",
    ) -> None:
        self._roles = roles
        self._server = PageServer(graphql, version, graphiql=graphiql, key_header=key_header)
        self.release = self._server.release

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/salaries/", self.index, methods=["GET"]),
            Route("/salaries/level/{level}/", self.level, methods=["GET"]),
            Route("/salaries/metro/{metro}/", self.metro, methods=["GET"]),
            Route("/salaries/{slug}/", self.role_or_pair, methods=["GET"]),
            Route("/companies/{company}/", self.company, methods=["GET"]),
            # Anything else under the pages' paths: an HTML answer, not the API's JSON 404.
            Route("/salaries/{rest:path}", self.elsewhere, methods=["GET"]),
            Route("/companies/{rest:path}", self.elsewhere, methods=["GET"]),
            *self._server.assets.routes(),
        ]

    # ---- the pages -------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        basis = slugs.parse_basis(request.query_params.get("basis"))
        if basis is None:
            return self._bad_basis(request)

        def build(data: Data) -> dict[str, Any]:
            return {
                "title": "AI salaries by role, pair, level, metro and company · rolepulse",
                "description": f"Salaries, open positions and skills of "
                f"{fmt.count(data['market']['openPositions'])} open AI job postings, for "
                f"{len(self._roles)} roles, every pair of them, each level and metro.",
                "pairs": [
                    (self._roles[a], self._roles[b]) for a, b in slugs.pairs(list(self._roles))
                ],
                "metros": [edge["node"] for edge in data["metros"]["edges"]],
                "level_links": self._level_links(request, None),
            }

        live = [self._server.live("live_market", {})]
        return await self._server.serve(
            request, Page("index.html", "index", {"basis": basis.graphql}, build, basis, live)
        )

    async def role_or_pair(self, request: Request) -> Response:
        slug = request.path_params["slug"]
        if slug in self._roles:
            return await self.role(request, slug)
        pair = slugs.parse_pair(slug, self._roles)
        if pair is None:
            return self._unknown_role(request, slug)
        a, b = pair
        if a == b:
            return RedirectResponse(f"{root_path(request)}/salaries/{a}/", status_code=301)
        return await self.compare(request, a, b)

    async def compare(self, request: Request, a: str, b: str) -> Response:
        basis = slugs.parse_basis(request.query_params.get("basis"))
        if basis is None:
            return self._bad_basis(request)

        def build(data: Data) -> dict[str, Any]:
            cmp = data["compareRoles"]
            roles = [cmp["a"], cmp["b"]]
            return {
                "title": f"{cmp['a']['title']} vs {cmp['b']['title']} salary and skills"
                " · rolepulse",
                "description": views.compare_description(data),
                "verdict": views.verdict(cmp),
                "shared": frozenset(cmp["sharedSkills"]),
                "low": views.low_confidence(roles),
                "salary_chart": views.salary_chart(roles),
                "trend": views.trend(roles),
            }

        live = [self._server.live("live_role", {"slug": s, "basis": basis.graphql}) for s in (a, b)]
        variables = {"a": a, "b": b, "basis": basis.graphql}
        return await self._server.serve(
            request, Page("compare.html", "compare", variables, build, basis, live)
        )

    async def role(self, request: Request, slug: str) -> Response:
        basis = slugs.parse_basis(request.query_params.get("basis"))
        if basis is None:
            return self._bad_basis(request)

        def build(data: Data) -> dict[str, Any]:
            role = data["role"]
            return {
                "title": f"{role['title']} salary, skills and demand · rolepulse",
                "description": views.role_description(role),
                "salary_chart": views.salary_chart([role]),
                "trend": views.trend([role]),
                "others": [info for s, info in self._roles.items() if s != slug],
            }

        live = [self._server.live("live_role", {"slug": slug, "basis": basis.graphql})]
        variables = {"slug": slug, "basis": basis.graphql}
        return await self._server.serve(
            request, Page("role.html", "role", variables, build, basis, live)
        )

    async def level(self, request: Request) -> Response:
        level = slugs.parse_level(request.path_params["level"])
        if level is None:
            return self._server.problem(
                request, 404, "No such seniority level",
                f"There is no level {request.path_params['level'][:100]!r}.",
                "Levels", self._level_links(request, None),
            )  # fmt: skip
        basis = slugs.parse_basis(request.query_params.get("basis"))
        if basis is None:
            return self._bad_basis(request)
        title = slugs.LEVEL_TITLES[level]

        def build(data: Data) -> dict[str, Any]:
            # One aliased field per role (queries/level.graphql), in taxonomy order.
            roles = [data[s.replace("-", "_")] for s in self._roles]
            return {
                "title": f"{title} AI salaries by role · rolepulse",
                "description": f"Open positions and salaries of {title.lower()} AI roles: "
                + "; ".join(f"{r['title']} {fmt.money(r['salary']['median'])}" for r in roles[:4])
                + ".",
                "level_title": title,
                "slices": roles,
                "low": views.low_confidence(roles),
                "level_links": self._level_links(request, level),
            }

        level_filter = {"seniorities": [level.name]}
        live = [
            self._server.live(
                "live_role", {"slug": s, "basis": basis.graphql, "filter": level_filter}
            )
            for s in self._roles
        ]
        variables = {"level": level.name, "basis": basis.graphql}
        return await self._server.serve(
            request, Page("level.html", "level", variables, build, basis, live)
        )

    async def metro(self, request: Request) -> Response:
        basis = slugs.parse_basis(request.query_params.get("basis"))
        if basis is None:
            return self._bad_basis(request)

        def build(data: Data) -> dict[str, Any]:
            metro = data["metro"]
            return {
                "title": f"AI salaries in {metro['name']} by role · rolepulse",
                "description": f"{fmt.count(metro['openPositions'])} open AI positions in "
                f"{metro['name']}, median salary {fmt.money(metro['salary']['median'])}.",
                **self._place(metro, "metro"),
            }

        live = [self._server.live("live_market", {})]
        variables = {"metro": request.path_params["metro"], "basis": basis.graphql}
        root = root_path(request)
        page = Page("place.html", "metro", variables, build, basis, live,
                    suggest=lambda name: f"{root}/salaries/metro/{slugify(name)}/")  # fmt: skip
        return await self._server.serve(request, page)

    async def company(self, request: Request) -> Response:
        basis = slugs.parse_basis(request.query_params.get("basis"))
        if basis is None:
            return self._bad_basis(request)
        name = request.path_params["company"]

        def build(data: Data) -> dict[str, Any]:
            company = data["company"]
            return {
                "title": f"AI jobs and salaries at {company['name']} · rolepulse",
                "description": f"{fmt.count(company['openPositions'])} open AI positions at "
                f"{company['name']}, median salary {fmt.money(company['salary']['median'])}.",
                **self._place(company, "company"),
            }

        def missing(data: Data) -> Awaitable[Response] | None:
            # Employers are no fixed list (README: Filters): the API answers any name, with
            # zeros for one without open postings; as a page, that is nothing to publish.
            if data["company"]["openPositions"] > 0:
                return None
            return self._unknown_company(request, name)

        live = [self._server.live("live_market", {})]
        page = Page("place.html", "company", {"company": name, "basis": basis.graphql}, build,
                    basis, live, missing)  # fmt: skip
        return await self._server.serve(request, page)

    async def elsewhere(self, request: Request) -> Response:
        path = request.url.path
        if not path.endswith("/"):
            # Pages live at directory-like URLs; /salaries/x and /salaries/x/ are one page.
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"{path}/{query}", status_code=301)
        return self._unknown_role(request, request.path_params["rest"].strip("/"))

    # ---- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _place(place: Data, kind: str) -> dict[str, Any]:
        """What the metro and company pages (place.html) share."""
        return {
            "place": place,
            "place_kind": kind,
            "slices": place["roles"],
            "low": views.low_confidence(place["roles"]),
            "salary_chart": views.salary_chart([{**place, "title": place["name"]}]),
        }

    def _level_links(self, request: Request, current: Seniority | None) -> list[Link]:
        root = root_path(request)
        return [
            Link(
                slugs.LEVEL_TITLES[level], f"{root}/salaries/level/{level.value}/", level == current
            )
            for level in slugs.levels()
        ]

    # ---- answers other than a page ---------------------------------------------------------

    def _unknown_role(self, request: Request, slug: str) -> Response:
        root = root_path(request)
        slugs_in_order = list(self._roles)
        first, last = slugs_in_order[0], slugs_in_order[-1]
        return self._server.problem(
            request, 404, "No such role or pair of roles",
            f"Nothing is published at /salaries/{slug[:100]}/.",
            "Roles", [Link(info.name, f"{root}/salaries/{s}/") for s, info in self._roles.items()],
            hint=f"A comparison is /salaries/ROLE-vs-ROLE/, e.g. /salaries/{first}-vs-{last}/; "
            f"a level /salaries/level/LEVEL/ ({', '.join(v.value for v in slugs.levels())}).",
        )  # fmt: skip

    async def _unknown_company(self, request: Request, name: str) -> Response:
        links: list[Link] = []
        answer = await self._server.run(request, "companies", {})
        if answer.ok:
            root = root_path(request)
            links = [
                Link(edge["node"]["name"], f"{root}/companies/{slugify(edge['node']['name'])}/")
                for edge in answer.data()["companies"]["edges"]
            ]
        return self._server.problem(
            request, 404, "No such company",
            f"No company named {name[:100]!r} has open AI positions.",
            "Companies with the most open AI positions", links,
        )  # fmt: skip

    def _bad_basis(self, request: Request) -> Response:
        links = views.basis_links(request.url.path, slugs.DEFAULT_BASIS)
        return self._server.problem(
            request, 400, "No such salary basis",
            f"basis must be one of {', '.join(b.value for b in slugs.Basis)}.",
            "This page on each basis", [Link(link.label, link.href) for link in links],
        )  # fmt: skip
