"""The pages in a real browser: headless Chromium against `rolepulse serve`.

Every test but the live one reads the session's `seed_market` (tests/e2e/conftest.py: the
seed-page market loaded through Kafka and the real consumer, read-only). The comparison page
must show the seed page's figures (the same numbers test_seed_page.py asserts over GraphQL) from
its DOM, load with zero failed requests, zero console errors (a CSP violation is one) and nothing
from another origin, fit a 375 px screen without sideways scrolling, be complete with JavaScript
off, and open its query in GraphiQL. The live test changes a market, so it loads a small one of
its own (`load_market`: a few dozen postings, a consumer that keeps running) and follows a
published event without a reload. Screenshots go to ARTIFACTS (README: "The browser test and
its artifacts"). The browser is Debian's /usr/bin/chromium, as in test_graphiql_browser.py.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from rolepulse.publish import publish_lines
from rolepulse.settings import KafkaSettings

CHROMIUM = Path(os.environ.get("ROLEPULSE_TEST_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(
    os.environ.get("ROLEPULSE_TEST_ARTIFACTS", Path(__file__).parents[2] / ".rolepulse/artifacts")
)
CHROMIUM_ARGS = [  # as test_graphiql_browser.py: no sandbox (root in CI), nothing calling home
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAIR = "/salaries/ai-software-engineer-vs-ai-product-manager/"
# The seed page's figures (top of each range, the pages' default basis), as the page writes them.
SEED = {
    "a-open": "598", "b-open": "594",
    "a-n": "518", "b-n": "475",
    "a-p25": "$203K", "a-median": "$235K", "a-average": "$249K", "a-p75": "$300K",
    "b-p25": "$165K", "b-median": "$200K", "b-average": "$194K", "b-p75": "$243K",
    "a-range": "$140K – $249K", "b-range": "$134K – $194K",
    "a-remote": "8%", "b-remote": "18%",
}  # fmt: skip
PAGES = [
    PAIR,
    "/salaries/ai-product-manager-vs-ai-software-engineer/?basis=midpoint",
    "/salaries/ai-software-engineer/",
    "/salaries/level/senior/",
    "/salaries/",
    "/salaries/metro/san-francisco/",
    "/companies/accenture/",
    "/salaries/no-such-role/",
]
NARROW = 375
# The live test's own market: postings per title, every UNPAID_EVERY-th without pay.
SMALL = {"AI Software Engineer": 24, "AI Product Manager": 16}
UNPAID_EVERY = 4
SMALL_CITIES = ["Austin, TX", "New York, NY", "Seattle, WA", "Remote"]


class Api(Protocol):  # tests/e2e/conftest.py's ApiProcess (a conftest cannot be imported)
    @property
    def url(self) -> str: ...


class SeedMarket(Protocol):  # tests/e2e/conftest.py's SeedMarket
    @property
    def api(self) -> Api: ...


class LiveMarket(Protocol):  # tests/e2e/conftest.py's LiveMarket
    @property
    def kafka(self) -> KafkaSettings: ...
    @property
    def api(self) -> Api: ...


LoadMarket = Callable[[Path], LiveMarket]


@dataclass(frozen=True)
class SmallMarket:
    events: list[dict[str, Any]]  # as published, before the test's own event
    market: LiveMarket


@pytest.fixture
def seed_url(seed_market: SeedMarket) -> str:
    """The seed-page market's API (default settings). Read-only: see `seed_market`."""
    return seed_market.api.url


def observed(key: str, title: str, company: str, location: str, pay: int | None) -> dict[str, Any]:
    """A posting.observed event on one board; with `pay`, a yearly USD range from it."""
    posting: dict[str, Any] = {
        "source_id": key, "title": title, "company": company, "location": location,
        "description": "Build RAG systems in Python on AWS.",
    }  # fmt: skip
    if pay is not None:
        posting["salary"] = {"min": pay, "max": pay + 60_000, "currency": "USD", "period": "year"}
    return {
        "version": 1, "event_id": key, "event_type": "posting.observed",
        "occurred_at": "2026-11-01T12:00:00Z", "source": "greenhouse", "posting": posting,
    }  # fmt: skip


def small_events() -> list[dict[str, Any]]:
    # One board only: two postings of one board are two requisitions, so none is deduplicated
    # and every posting counts as open.
    events = []
    for title, count in SMALL.items():
        for i in range(count):
            key = f"small-{title.lower().replace(' ', '-')}-{i}"
            where = SMALL_CITIES[i % len(SMALL_CITIES)]
            pay = None if i % UNPAID_EVERY == 0 else 120_000 + 5_000 * i
            events.append(observed(key, title, f"Smalltest {i % 5}", where, pay))
    return events


@pytest.fixture
def small_market(load_market: LoadMarket, tmp_path: Path) -> SmallMarket:
    """`small_events()` loaded into a market of this test's own, its consumer still running."""
    events = small_events()
    path = tmp_path / "small.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return SmallMarket(events, load_market(path))


def open_and_paid(events: list[dict[str, Any]], title: str) -> tuple[int, int]:
    """A title's open postings and those of them with pay, counted from the events."""
    postings = [e["posting"] for e in events if e["posting"]["title"] == title]
    return len(postings), sum("salary" in p for p in postings)


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (.ci/run installs it)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


class Watched:
    """A page with every request, failed request and console error recorded."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def assert_clean(self, origin: str, *, status: int = 200) -> None:
        assert self.failed == []
        # A 404 page is itself a failed load to the console; nothing else may be.
        expected = [] if status == 200 else [f"the server responded with a status of {status}"]
        assert [
            e.removeprefix("Failed to load resource: ").split(" (")[0] for e in self.errors
        ] == expected
        foreign = [u for u in self.requests if not u.startswith((f"{origin}/", "data:"))]
        assert foreign == []  # nothing from a CDN: the pages work with no internet


async def open_page(
    browser: Browser, url: str, width: int, status: int = 200, **options: Any
) -> Watched:
    context = await browser.new_context(viewport={"width": width, "height": 900}, **options)
    watched = Watched(await context.new_page())
    response = await watched.page.goto(url)
    assert response is not None
    assert response.status == status, url
    watched.page.set_default_timeout(15_000)
    return watched


async def figure(page: Page, name: str) -> str:
    # The cell's text without its "n = ..." (checked separately).
    text = await page.locator(f'[data-figure="{name}"]').first.inner_text()
    return text.replace("\xa0", " ").split(" n = ")[0].strip()


async def test_the_comparison_page_shows_the_seed_pages_figures(
    seed_url: str, browser: Browser, artifacts: Path
) -> None:
    watched = await open_page(browser, f"{seed_url}{PAIR}", 1400)
    page = watched.page
    # The live script connected: the page is fully up (and its websocket is no failure).
    await expect(page.locator("#live-status")).to_be_visible()
    for name, want in SEED.items():
        assert await figure(page, name) == want, name
    median = await page.locator('[data-figure="a-median"]').inner_text()
    assert median.replace("\xa0", " ") == "$235K n = 518"  # n beside every salary figure
    assert await page.locator('[data-figure="premium"]').inner_text() == "28%"
    assert await page.locator('[data-figure="overlap"]').inner_text() == "50%"
    shared = await page.locator('[data-figure="a-skills"] li.shared .skill').all_inner_texts()
    assert sorted(shared) == ["AWS", "Python", "RAG", "Rust"]
    skills = await page.locator('[data-figure="a-skills"] .skill').all_inner_texts()
    assert skills == ["RAG", "Python", "Rust", "Kubernetes", "AWS", "Docker", "Claude", "OpenAI"]
    companies = await page.locator('[data-figure="a-companies"] tbody th').all_inner_texts()
    assert companies[:4] == ["Accenture", "Google", "Apple", "GEICO"]
    assert await page.title() == (
        "AI Software Engineer vs AI Product Manager salary and skills · rolepulse"
    )
    description = await page.locator('meta[name="description"]').get_attribute("content")
    assert description is not None
    assert description.startswith("AI Software Engineer pays 28% more on average")
    # The charts: both roles' salary distribution, 12 weeks of trend (4 in this market).
    assert await page.locator("#salary-distribution rect.s0").count() > 5
    assert await page.locator("#salary-distribution rect.s1").count() > 5
    assert await page.locator("#trend-open circle.s0").count() == 4
    assert await page.locator("th:not([scope])").count() == 0
    assert await page.locator("h1").count() == 1
    await page.screenshot(path=artifacts / "pages-compare-1400.png", full_page=True)
    watched.assert_clean(seed_url)


async def test_every_page_fits_a_narrow_screen_without_errors(
    seed_url: str, browser: Browser, artifacts: Path
) -> None:
    for path in PAGES:
        status = 404 if "no-such-role" in path else 200
        watched = await open_page(browser, f"{seed_url}{path}", NARROW, status)
        page = watched.page
        await page.wait_for_load_state("networkidle")
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= NARROW, f"{path} scrolls sideways: {width} px wide"
        if path == PAIR:
            await expect(page.locator("#live-status")).to_be_visible()
            await page.screenshot(path=artifacts / "pages-compare-375.png", full_page=True)
        watched.assert_clean(seed_url, status=status)
        await page.context.close()


async def test_the_page_is_complete_without_javascript(seed_url: str, browser: Browser) -> None:
    watched = await open_page(browser, f"{seed_url}{PAIR}", 1400, java_script_enabled=False)
    page = watched.page
    for name, want in SEED.items():
        assert await figure(page, name) == want, name
    assert await page.locator("#salary-distribution").is_visible()
    assert await page.locator("#live-status").is_hidden()  # no claim of live figures
    # The other salary bases are links, not a form or a script.
    await page.get_by_role("link", name="min of range").click()
    await expect(page.locator('[data-figure="a-median"]')).to_contain_text("$")
    assert page.url.endswith(f"{PAIR}?basis=min")
    watched.assert_clean(seed_url)


async def test_the_query_behind_the_page_opens_in_graphiql(seed_url: str, browser: Browser) -> None:
    watched = await open_page(browser, f"{seed_url}{PAIR}", 1400)
    page = watched.page
    # The live script revalidates the page once it has subscribed; leaving the page while that
    # fetch is in flight would abort it (a failed request the reader never sees). Wait for it.
    await page.locator("html[data-live-checked]").wait_for(state="attached")
    await page.get_by_text("The query behind this page").click()
    await page.locator("#open-in-graphiql").click()
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    await editor.wait_for()
    await expect(page.locator(".graphiql-query-editor")).to_contain_text("query ComparePage(")
    await expect(page.locator(".graphiql-editor-tool")).to_contain_text('"ai-product-manager"')
    await editor.click()
    await page.keyboard.press("Control+Enter")
    await expect(page.locator(".graphiql-response")).to_contain_text('"premiumPct": 28.35')
    watched.assert_clean(seed_url)


async def test_a_published_event_changes_the_open_page(
    small_market: SmallMarket, browser: Browser
) -> None:
    url, events = small_market.market.api.url, small_market.events
    a_open, a_paid = open_and_paid(events, "AI Software Engineer")
    b_open, _ = open_and_paid(events, "AI Product Manager")
    watched = await open_page(browser, f"{url}{PAIR}", 1400)
    page = watched.page
    await expect(page.locator("#live-status")).to_be_visible()
    await expect(page.locator('[data-figure="a-open"]')).to_have_text(str(a_open))
    await expect(page.locator('[data-figure="a-n"]')).to_have_text(str(a_paid))
    event = observed(
        "pages-live", "AI Software Engineer", "Livetest Robotics", "Austin, TX", 150_000
    )
    published = time.monotonic()
    await publish_lines([json.dumps(event).encode()], small_market.market.kafka)
    await expect(page.locator('[data-figure="a-open"]')).to_have_text(
        str(a_open + 1), timeout=30_000
    )
    print(f"\npublish to page updated: {(time.monotonic() - published) * 1000:.0f} ms")
    await expect(page.locator('[data-figure="a-n"]')).to_have_text(str(a_paid + 1))
    await expect(page.locator('[data-figure="b-open"]')).to_have_text(str(b_open))
    assert await page.get_attribute("html", "data-live-updates") is not None
    watched.assert_clean(url)


def test_artifacts_are_where_the_readme_says(artifacts: Path) -> None:
    # Run last in the module (pytest keeps file order): the screenshots above exist.
    for name in ("pages-compare-1400.png", "pages-compare-375.png"):
        path = artifacts / name
        assert path.is_file(), path
        assert path.stat().st_size > 10_000, path
