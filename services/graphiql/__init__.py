"""GraphiQL from files that ship with the package: the page works with no internet access.

`static/` holds the UMD builds of graphiql, react and react-dom exactly as the npm registry
publishes them (versions, integrity hashes and licences in VERSIONS; scripts/vendor-graphiql
re-downloads and checks them) next to our own start-up script and stylesheet. The page at
GET /graphql loads only those, from `graphiql/<digest>/<name>`: the digest covers every file, so
an asset URL never changes content and can be cached for a year, and an upgrade changes every URL.

Nothing on the page runs inline: scripts come from our origin only (CSP `script-src 'self'`).
GraphiQL's dialogs add <style> elements at run time (Radix, through react-style-singleton), which
take the per-page nonce that its bundle reads from `__webpack_nonce__`, set by our script.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import mimetypes
import secrets
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
ROUTE_PREFIX = "/graphiql"
# Third-party files first, in dependency order; ours last (it uses all three globals).
SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "rolepulse-graphiql.js",
)
STYLESHEETS = ("graphiql.min.css", "rolepulse-graphiql.css")
DEFAULT_VARIABLES = {"a": "ai-software-engineer", "b": "ai-product-manager"}
IMMUTABLE = "public, max-age=31536000, immutable"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(slots=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str
    gzipped: bytes | None = field(default=None)


def page_csp(nonce: str) -> str:
    """The page's Content-Security-Policy: our origin only, nothing inline but nonced styles.

    `data:` images and fonts are GraphiQL's icons and its embedded fonts; style attributes
    (`style-src-attr`) are CodeMirror's search dialog markup, which cannot run code.
    `connect-src 'self'` covers the queries, and in Chromium and Firefox the same-origin
    websocket (`ws:` to the page's own host) that subscriptions will use.
    """
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


class GraphiQLAssets:
    """The files of `static/`, read once, and the page that loads them."""

    def __init__(self, directory: Path = STATIC) -> None:
        self._assets: dict[str, _Asset] = {}
        digest = hashlib.sha256()
        for path in sorted(directory.iterdir()):
            body = path.read_bytes()
            media_type = _MEDIA_TYPES.get(path.suffix) or (
                mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            )
            etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            self._assets[path.name] = _Asset(body, media_type, etag)
            digest.update(path.name.encode() + b"\0" + body)
        missing = set(SCRIPTS + STYLESHEETS) - self._assets.keys()
        if missing:
            raise FileNotFoundError(f"GraphiQL assets missing from {directory}: {sorted(missing)}")
        self.digest = digest.hexdigest()[:12]
        contract = resources.files("rolepulse.schema").joinpath("contract_query.graphql")
        self._default_query = contract.read_text(encoding="utf-8")

    def routes(self) -> list[Route]:
        return [Route(f"{ROUTE_PREFIX}/{{digest}}/{{name}}", self._serve, methods=["GET"])]

    def page(self) -> HTMLResponse:
        """The GraphiQL page, with a fresh style nonce (so never cached)."""
        nonce = secrets.token_urlsafe(16)
        # Relative URLs: the page lives at .../graphql, so the assets resolve next to it, also
        # behind a proxy that mounts the API under a path prefix.
        base = f"{ROUTE_PREFIX.lstrip('/')}/{self.digest}"
        links = "\n".join(f'<link rel="stylesheet" href="{base}/{name}">' for name in STYLESHEETS)
        scripts = "\n".join(f'<script src="{base}/{name}"></script>' for name in SCRIPTS)
        # Data blocks (non-JavaScript script types) are never executed, so the CSP allows them;
        # "</" is escaped so the text cannot close the element.
        query = self._default_query.replace("</", "<\\/")
        variables = json.dumps(DEFAULT_VARIABLES, indent=2).replace("</", "<\\/")
        body = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rolepulse · GraphiQL</title>
<link rel="icon" href="data:,">
{links}
</head>
<body>
<div id="graphiql" data-style-nonce="{html.escape(nonce)}">Loading…</div>
<script type="application/graphql" id="rolepulse-default-query">{query}</script>
<script type="application/json" id="rolepulse-default-variables">{variables}</script>
{scripts}
</body>
</html>
"""
        return HTMLResponse(
            body,
            headers={"Cache-Control": "no-store", "Content-Security-Policy": page_csp(nonce)},
        )

    async def _serve(self, request: Request) -> Response:
        asset = self._assets.get(request.path_params["name"])
        if asset is None or request.path_params["digest"] != self.digest:
            # An old page asking for the assets of another release: theirs are gone.
            return PlainTextResponse("Not Found", status_code=404)
        headers = {"Cache-Control": IMMUTABLE, "ETag": asset.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        body = asset.body
        if "gzip" in request.headers.get("accept-encoding", ""):
            if asset.gzipped is None:
                # Once per file and process, off the event loop: graphiql.min.js is ~1 MB.
                asset.gzipped = await anyio.to_thread.run_sync(gzip.compress, asset.body)
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=asset.media_type, headers=headers)


@cache
def load_graphiql() -> GraphiQLAssets:
    """The packaged assets, read once per process (every app built in it shares them)."""
    return GraphiQLAssets()
