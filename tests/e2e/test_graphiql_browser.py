"""GraphiQL in a real browser, offline: headless Chromium against `rolepulse serve`.

The browser is Debian's `chromium` package (/usr/bin/chromium, installed by .ci/run where
missing), driven by playwright's client; playwright's own browser download is never used. The
page must load with zero failed requests and zero console errors (a CSP violation is one), every
request going to the API's own origin, and a query typed into the editor must show its data in
the result pane. The screenshot is kept in ARTIFACTS (README: "Test artifacts").
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import pytest
from playwright.async_api import ConsoleMessage, Request, async_playwright, expect
from pymongo import MongoClient

from rolepulse.domain.aggregates import MARKET_DOC
from rolepulse.services.read_model import MARKET_AGGREGATES
from rolepulse.settings import MongoSettings


class Api(Protocol):  # tests/e2e/conftest.py's ApiProcess (a conftest cannot be imported)
    url: str

    def log_text(self) -> str: ...


StartApi = Callable[..., Api]

CHROMIUM = Path(os.environ.get("ROLEPULSE_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(
    os.environ.get("ROLEPULSE_TEST_ARTIFACTS", Path(__file__).parents[2] / ".rolepulse/artifacts")
)
# No sandbox: CI runs as root in a container, where Chromium's sandbox cannot start. The rest
# keeps the browser from calling home (updates, sync, field trials), so the test is offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
OPEN_POSITIONS = 4242


@pytest.fixture
def market(mongo_settings: MongoSettings) -> None:
    """A market document in the test's database, as the consumer would have written it."""
    client: MongoClient[dict[str, object]] = MongoClient(mongo_settings.uri)
    try:
        client[mongo_settings.database][MARKET_AGGREGATES].insert_one(
            {"_id": MARKET_DOC, "open_ai": OPEN_POSITIONS}
        )
    finally:
        client.close()


@pytest.fixture
def api(start_api: StartApi, market: None) -> Api:
    return start_api()


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (.ci/run installs it)")
    return CHROMIUM


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


async def test_graphiql_loads_offline_and_runs_a_typed_query(
    api: Api, chromium: Path, artifacts: Path
) -> None:
    requests: list[Request] = []
    failed: list[str] = []
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 720})
            page.on("request", lambda r: requests.append(r))
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            page.on("console", on_console)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            response = await page.goto(f"{api.url}/graphql")
            assert response is not None
            assert response.status == 200

            editor = page.locator(".graphiql-query-editor .CodeMirror")
            await editor.wait_for(timeout=15_000)
            # The schema arrived by introspection: the documentation explorer lists the root.
            await page.get_by_role("button", name="Show Documentation Explorer").click()
            await expect(page.locator(".graphiql-doc-explorer")).to_contain_text("Query")

            await editor.click()
            await page.keyboard.press("Control+A")
            await page.keyboard.press("Delete")
            # Typed key by key; the editor closes each brace as it is opened.
            await page.keyboard.type("{ market { openPositions")
            await page.keyboard.press("Escape")  # close the completion hint
            # GraphiQL takes the operation name from the editor after a short debounce; run
            # before it and it would still send the default query's name.
            await page.wait_for_timeout(1_000)
            await page.keyboard.press("Control+Enter")
            result = page.locator(".graphiql-response")
            await expect(result).to_contain_text(f'"openPositions": {OPEN_POSITIONS}')
            await page.screenshot(path=artifacts / "graphiql.png")
        finally:
            await browser.close()

    assert failed == [], api.log_text()
    assert errors == []
    foreign = [r.url for r in requests if not r.url.startswith((f"{api.url}/", "data:"))]
    assert foreign == []  # nothing from a CDN: the page works with no internet
    posts = [r for r in requests if r.method == "POST"]
    assert posts, "GraphiQL sent no query"
    for post in posts:
        assert post.url == f"{api.url}/graphql"
        assert post.headers["content-type"] == "application/json"
        assert post.headers["accept"] == "application/json"
    assert any("openPositions" in (post.post_data or "") for post in posts)
