"""Server-rendered pages of the figures: /salaries/ and below, /companies/{name}/.

Each page is one GraphQL query of queries/, run in process through the API's own chain (limits,
rate limiting, response cache; execute.py), rendered by a Jinja2 template of templates/ with
inline SVG charts whose geometry charts.py computes; no JavaScript is needed to read a page.
static/live.js, when it runs, keeps the figures current over the API's subscriptions. Pages are
on unless `ROLEPULSE_API_PAGES=false` (README: Pages).
"""

from __future__ import annotations

from rolepulse.services.pages.render import PAGE_CSP
from rolepulse.services.pages.routes import Pages

__all__ = ["PAGE_CSP", "Pages"]
