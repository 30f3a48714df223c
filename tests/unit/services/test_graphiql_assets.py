"""The packaged GraphiQL: files as VERSIONS records them, a page that loads only them, caching."""

from __future__ import annotations

import gzip
import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from rolepulse.services.graphiql import SCRIPTS, STATIC, STYLESHEETS

GRAPHIQL = STATIC.parent
OURS = {"rolepulse-graphiql.js", "rolepulse-graphiql.css"}


def versions() -> list[list[str]]:
    lines = (GRAPHIQL / "VERSIONS").read_text().splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


async def page_and_assets(http: httpx.AsyncClient) -> tuple[httpx.Response, list[str]]:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    return page, re.findall(r'(?:src|href)="([^"]+)"', page.text)


def test_every_vendored_file_matches_versions_and_has_its_licence() -> None:
    rows = versions()
    assert {row[0] for row in rows} == {"graphiql", "react", "react-dom"}
    for package, version, licence, integrity, member, sha256 in rows:
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), package
        assert licence == "MIT"
        assert integrity.startswith("sha512-")
        data = (STATIC / Path(member).name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha256, member
        assert "MIT License" in (GRAPHIQL / "licenses" / f"{package}.LICENSE").read_text()
    # Nothing in static/ that VERSIONS does not account for, except our own two files.
    assert {p.name for p in STATIC.iterdir()} == {Path(r[4]).name for r in rows} | OURS


def test_react_and_graphiql_versions_fit_together() -> None:
    by_package = {row[0]: row[1] for row in versions()}
    assert by_package["react"] == by_package["react-dom"]
    # graphiql 3.x is built against React 18's UMD globals (React 19 ships no UMD build).
    assert by_package["react"].startswith("18.")
    assert by_package["graphiql"].startswith("3.")


async def test_the_page_loads_only_packaged_assets_and_runs_nothing_inline(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client() as http:
        page, urls = await page_and_assets(http)
        for url in urls:
            if url.startswith("data:"):
                continue  # the empty favicon, so the browser asks for no /favicon.ico
            assert not url.startswith(("http:", "https:", "//", "/")), url  # relative, same origin
            asset = await http.get(f"/{url}")
            assert asset.status_code == 200, url
    names = [url.rsplit("/", 1)[-1] for url in urls if not url.startswith("data:")]
    assert names == [*STYLESHEETS, *SCRIPTS]
    # Every <script> either loads a file or is a data block (never executed).
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S):
        assert "src=" in attributes or 'type="application/' in attributes, attributes
        assert "src=" not in attributes or not body.strip()
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp.split("style-src-attr")[0]  # only style attributes
    assert "unsafe-eval" not in csp
    nonce = re.search(r'data-style-nonce="([^"]+)"', page.text)
    assert nonce is not None
    assert f"'nonce-{nonce.group(1)}'" in csp
    assert page.headers["cache-control"] == "no-store"


async def test_each_page_gets_a_fresh_style_nonce(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client() as http:
        first, _ = await page_and_assets(http)
        second, _ = await page_and_assets(http)
    assert first.headers["content-security-policy"] != second.headers["content-security-policy"]


async def test_the_default_query_is_the_contract_query_escaped_as_data(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    contract = (Path(__file__).parents[3] / "schema" / "contract_query.graphql").read_text()
    async with empty_client() as http:
        page, _ = await page_and_assets(http)
    assert contract in page.text
    assert '"ai-software-engineer"' in page.text


async def test_assets_are_cached_for_a_year_compressed_and_revalidated(
    empty_client: Callable[..., httpx.AsyncClient],
) -> None:
    async with empty_client() as http:
        _, urls = await page_and_assets(http)
        [js] = [url for url in urls if url.endswith("/graphiql.min.js")]
        plain = await http.get(f"/{js}", headers={"Accept-Encoding": "identity"})
        zipped = await http.get(f"/{js}", headers={"Accept-Encoding": "gzip, br"})
        again = await http.get(f"/{js}", headers={"If-None-Match": plain.headers["etag"]})
        stale = await http.get(f"/{js.replace(js.split('/')[1], '000000000000')}")
    assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert plain.content == (STATIC / "graphiql.min.js").read_bytes()
    assert zipped.headers["content-encoding"] == "gzip"
    # httpx decodes it; the wire carried a third of the bytes.
    assert zipped.content == plain.content
    assert int(zipped.headers["content-length"]) < len(plain.content) / 2
    assert len(gzip.compress(plain.content)) == int(zipped.headers["content-length"])
    assert again.status_code == 304
    assert stale.status_code == 404  # another release's URL: never this release's content


@pytest.mark.parametrize("name", ["VERSIONS", "../VERSIONS", "nope.js"])
async def test_only_static_files_are_served(
    name: str, empty_client: Callable[..., httpx.AsyncClient]
) -> None:
    async with empty_client() as http:
        _, urls = await page_and_assets(http)
        prefix = next(url for url in urls if url.startswith("graphiql/")).rsplit("/", 1)[0]
        response = await http.get(f"/{prefix}/{name}")
    assert response.status_code == 404
