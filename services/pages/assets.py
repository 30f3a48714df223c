"""The pages' stylesheet and script, served under a digest of their content.

As for GraphiQL (services/graphiql): a URL names one content forever, so browsers may keep the
files for a year, and a release that changes them changes their URLs. Both files are small
(a few KB), so they are served as they are, without compression.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

HERE = Path(__file__).parent
STATIC = HERE / "static"
ROUTE_PREFIX = "/pages/static"
IMMUTABLE = "public, max-age=31536000, immutable"
_MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class _Asset:
    body: bytes
    media_type: str
    etag: str


def tree_digest(*directories: Path) -> str:
    """A digest of every file under `directories` (names and contents), 12 hex digits."""
    digest = hashlib.sha256()
    for directory in directories:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(HERE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


class PageAssets:
    """The files of static/, read once."""

    def __init__(self, directory: Path = STATIC) -> None:
        self._assets = {
            path.name: _Asset(
                path.read_bytes(),
                _MEDIA_TYPES.get(path.suffix, "application/octet-stream"),
                f'"{hashlib.sha256(path.read_bytes()).hexdigest()[:16]}"',
            )
            for path in sorted(directory.iterdir())
            if path.is_file()
        }
        self.digest = tree_digest(directory)

    def url(self, root_path: str, name: str) -> str:
        if name not in self._assets:
            raise KeyError(f"no page asset {name!r}")
        return f"{root_path}{ROUTE_PREFIX}/{self.digest}/{name}"

    def routes(self) -> list[Route]:
        return [Route(f"{ROUTE_PREFIX}/{{digest}}/{{name}}", self._serve, methods=["GET"])]

    async def _serve(self, request: Request) -> Response:
        asset = self._assets.get(request.path_params["name"])
        if asset is None or request.path_params["digest"] != self.digest:
            return PlainTextResponse("Not Found", status_code=404)
        headers = {"Cache-Control": IMMUTABLE, "ETag": asset.etag}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)
