"""Turning a page's answer into HTML: the templates' environment, the memo of rendered pages,
and the headers every page carries."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from starlette.responses import Response

from rolepulse.domain.filters import slugify
from rolepulse.services.pages import fmt
from rolepulse.services.pages.assets import HERE

TEMPLATES = HERE / "templates"
HTML = "text/html; charset=utf-8"
# Our origin only; nothing inline but data blocks (which never run). The charts are inline SVG
# drawn with presentation attributes, which the CSP does not govern; colours come from the
# stylesheet. connect-src 'self' covers the live script's fetches and, in Chromium and Firefox,
# its websocket to the page's own host.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Stored, but asked again each time: the figures may change with any commit, and the ETag
# makes asking cheap (a 304 before any query runs).
REVALIDATE = "no-cache"
MEMO_MAX_BYTES = 16 * 1024 * 1024  # a comparison page is about 27 KB


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt field fails the test that renders it
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates ship with the package: no stat() per page
    )
    env.filters.update(
        money=fmt.money,
        pct=fmt.pct,
        count=fmt.count,
        timestamp=fmt.timestamp,
        signed=fmt.signed,
        slug=slugify,
    )
    env.globals["money_range"] = fmt.money_range
    return env


def script_json(value: object) -> Markup:
    """JSON for a `<script type="application/json">` block: no "<", ">" or "&" that the HTML
    parser could read as the end of the element (the JSON stays the same value)."""
    text = json.dumps(value, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names `etag` (compared weakly, as RFC 9110 says for it)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def page_headers(etag: str | None) -> dict[str, str]:
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": REVALIDATE}
    if etag is not None:
        headers["ETag"] = etag
    return headers


def html_response(body: bytes, status: int = 200, headers: Mapping[str, str] = {}) -> Response:
    return Response(body, status_code=status, media_type=HTML, headers=dict(headers))


class RenderedPages:
    """Pages rendered at the current data version, by what they were rendered from.

    Rendering a comparison page takes a few milliseconds (mostly the template), its query
    answered from the response cache a fraction of one. A page is a function of its answer,
    and an answer of its query and the data version (the response cache's own contract), so
    a page rendered at this version is kept until the version moves (all of them go at once)
    or the memo is over `max_bytes` (least recently used first). Every page view still runs
    its query, so limits and rate limiting see it as any other client's.
    """

    def __init__(self, max_bytes: int = MEMO_MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._version: int | None = None
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self.bytes = 0

    def get(self, version: int, key: Hashable) -> bytes | None:
        if version != self._version:
            return None
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, version: int, key: Hashable, page: bytes) -> None:
        if version != self._version:
            # A new version (or, after a database reset, a lower one): nothing kept holds.
            self._pages.clear()
            self.bytes = 0
            self._version = version
        if len(page) > self._max_bytes:
            return
        old = self._pages.pop(key, None)
        self.bytes += len(page) - (len(old) if old is not None else 0)
        self._pages[key] = page
        while self.bytes > self._max_bytes:
            _, evicted = self._pages.popitem(last=False)
            self.bytes -= len(evicted)

    def __len__(self) -> int:
        return len(self._pages)


def query_block(text: str, variables: Mapping[str, Any], href: str) -> dict[str, str]:
    """The footer's "query behind this page"."""
    return {"text": text, "variables": json.dumps(dict(variables), indent=2), "href": href}
