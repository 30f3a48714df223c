"""Serving one page view: conditional request, its query through the API, the memo of rendered
pages, the template; and the pages' answers when there is no page (400, 404, 429, 503).

A page's ETag is the data version it was read at plus a digest of this package's files: a
browser revalidating an unchanged page gets a 304 before any query runs, and a release with
other templates or queries changes every ETag.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from rolepulse.services.data_version import DataVersion
from rolepulse.services.pages import slugs, views
from rolepulse.services.pages.assets import STATIC, PageAssets, tree_digest
from rolepulse.services.pages.execute import (
    Answer,
    InProcessGraphQL,
    PageQuery,
    QueryFailedError,
)
from rolepulse.services.pages.render import (
    TEMPLATES,
    RenderedPages,
    environment,
    etag_matches,
    html_response,
    page_headers,
    query_block,
    script_json,
)
from rolepulse.services.pages.views import Link

QUERIES = STATIC.parent / "queries"
PAGE_QUERIES = ("compare", "role", "level", "metro", "company", "index", "companies")
LIVE_QUERIES = ("live_role", "live_market")
Data = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    """One page view: its template, its query, what the template gets besides the answer."""

    template: str
    query: str
    variables: Mapping[str, Any]
    build: Callable[[Data], dict[str, Any]]
    basis: slugs.Basis
    live: list[dict[str, Any]] = field(default_factory=list)  # subscriptions of live.js
    # The answer names nothing (a company without open postings): this answer instead.
    missing: Callable[[Data], Awaitable[Response] | None] | None = None
    # Where a name the API suggests instead of an unknown one leads (BAD_USER_INPUT's
    # validNames), for the 404 page.
    suggest: Callable[[str], str] | None = None


class PageServer:
    """Pages over `graphql`, the ASGI chain behind `POST /graphql`."""

    def __init__(
        self, graphql: ASGIApp, version: DataVersion | None, *, graphiql: bool, key_header: str
    ) -> None:
        self._client = InProcessGraphQL(graphql, key_header=key_header)
        self._version = version
        self._graphiql = graphiql
        self._env = environment()
        self._queries = {name: PageQuery.load(name) for name in PAGE_QUERIES + LIVE_QUERIES}
        self._rendered = RenderedPages()
        self.assets = PageAssets()
        self.release = tree_digest(STATIC, TEMPLATES, QUERIES)

    async def serve(self, request: Request, page: Page) -> Response:
        # The version before the query: the answer is at least that new, so the ETag never
        # labels older figures with a newer version.
        version = self._version.current if self._version is not None else None
        etag = f'"{self.release}-{version}"' if version is not None else None
        if etag is not None and etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=page_headers(etag))
        query = self._queries[page.query]
        answer = await self._client.run(request.scope, query, page.variables)
        root = root_path(request)
        key = (page.template, page.query, json.dumps(page.variables, sort_keys=True), root)
        body = self._rendered.get(version, key) if version is not None and answer.ok else None
        if body is None:
            try:
                data = answer.data()
            except QueryFailedError as failure:
                return self.failed(request, failure, page.suggest)
            if page.missing is not None and (instead := page.missing(data)) is not None:
                return await instead
            href = views.graphiql_href(root, query.text, page.variables)
            context = {
                **self.common(request, page.basis),
                "data": data,
                "page_query": query_block(query.text, page.variables, href),
                "live": self._live_block(root, etag, page.live),
                **page.build(data),
            }
            body = self._env.get_template(page.template).render(context).encode()
            if version is not None:
                self._rendered.put(version, key, body)
        return html_response(body, headers=page_headers(etag))

    async def run(self, request: Request, name: str, variables: Mapping[str, Any]) -> Answer:
        """A query of queries/ for the visitor of `request`, answered as the API answers it."""
        return await self._client.run(request.scope, self._queries[name], variables)

    def common(self, request: Request, basis: slugs.Basis | None) -> dict[str, Any]:
        """What every template gets."""
        root = root_path(request)
        return {
            "root": root,
            "asset": lambda name: self.assets.url(root, name),
            "graphiql": self._graphiql,
            "basis": basis,
            "basis_links": views.basis_links(request.url.path, basis or slugs.DEFAULT_BASIS),
            "page_query": None,
            "live": None,
        }

    def live(self, name: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """A subscription of queries/ for static/live.js."""
        return {"query": self._queries[name].text, "variables": dict(variables)}

    def _live_block(
        self, root: str, etag: str | None, subscriptions: list[dict[str, Any]]
    ) -> Markup | None:
        """What static/live.js subscribes to; None where nothing would be pushed (the app
        follows no data version) or the page has nothing live."""
        if not subscriptions or self._version is None:
            return None
        endpoint = f"{root}/graphql"
        return script_json({"endpoint": endpoint, "etag": etag, "subscriptions": subscriptions})

    def failed(
        self,
        request: Request,
        failure: QueryFailedError,
        suggest: Callable[[str], str] | None = None,
    ) -> Response:
        """The page for a query the API refused or could not answer."""
        if failure.bad_input:
            # A name the API does not know (a metro): it names the closest valid ones.
            valid = [str(v) for v in failure.extensions.get("validNames") or []]
            links = [Link(v, suggest(v)) for v in valid] if suggest is not None else []
            heading = "Did you mean" if links else ""
            return self.problem(request, 404, "Not found", failure.message, heading, links)
        if failure.throttled:
            retry = failure.extensions.get("retryAfterSeconds")
            seconds = max(1, math.ceil(retry)) if isinstance(retry, int | float) else 60
            return self.problem(
                request, 429, "Too many requests",
                f"This page's query is over your rate limit; try again in {seconds} s.", "", [],
                retry_after=seconds,
            )  # fmt: skip
        return self.problem(
            request, 503, "Figures unavailable",
            "The figures could not be read just now; try again in a moment.", "", [],
            retry_after=5,
        )  # fmt: skip

    def problem(
        self,
        request: Request,
        status: int,
        heading: str,
        message: str,
        valid_heading: str,
        valid: list[Link],
        *,
        hint: str = "",
        retry_after: int | None = None,
    ) -> Response:
        """An HTML answer without figures: what was wrong, and what exists instead."""
        context = {
            **self.common(request, None),
            "title": f"{heading} · rolepulse",
            "description": message or heading,
            "heading": heading,
            "message": message,
            "valid_heading": valid_heading,
            "valid": valid,
            "hint": hint,
        }
        body = self._env.get_template("problem.html").render(context).encode()
        headers = {**page_headers(None), "Cache-Control": "no-store"}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return html_response(body, status, headers)


def root_path(request: Request) -> str:
    """The path the API is mounted under behind a proxy ("" when none): links start with it."""
    return str(request.scope.get("root_path", "")).rstrip("/")
