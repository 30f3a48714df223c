"""Running python-jobspy itself (the optional `scrape` extra): one board at a time.

JobSpy is imported only here and only when asked for, so the project neither depends on it
nor on its dependencies (pandas, curl_cffi); without it, `rolepulse scrape` says how to get it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from rolepulse.errors import UserError

INSTALL_HINT = "pip install 'rolepulse[scrape]' (or pip install python-jobspy)"


class ScraperMissingError(UserError):
    """python-jobspy is not installed."""


@dataclass(frozen=True, slots=True)
class SiteResult:
    site: str
    rows: list[dict[str, Any]]
    errors: list[str] = field(default_factory=list)  # what JobSpy reported for the site


def load_jobspy() -> ModuleType:
    try:
        return importlib.import_module("jobspy")
    except ImportError as exc:
        raise ScraperMissingError(
            f"rolepulse scrape needs python-jobspy, an optional extra that is not installed: "
            f"{INSTALL_HINT}; or scrape with JobSpy elsewhere and `rolepulse import jobspy "
            "FILE.csv`"
        ) from exc


def scrape_sites(
    jobspy: ModuleType,
    sites: Sequence[str],
    *,
    search: str,
    location: str | None,
    results: int,
    hours_old: int | None,
    country: str,
) -> Iterator[SiteResult]:
    """Scrape each board in turn, so the caller can publish one board's postings before the
    next is fetched."""
    for site in sites:
        try:
            frame = jobspy.scrape_jobs(
                site_name=[site],
                search_term=search,
                location=location,
                results_wanted=results,
                hours_old=hours_old,
                country_indeed=country,
                description_format="markdown",
                verbose=0,
            )
        except ValueError as exc:  # JobSpy's message for a bad argument (site, country...)
            raise UserError(f"python-jobspy refused the search for {site}: {exc}") from exc
        attrs = getattr(frame, "attrs", {}) or {}
        errors = [str(e) for e in (attrs.get("errors") or {}).values()]
        yield SiteResult(site, list(frame.to_dict("records")), errors)
