"""What every HTTP response of the API carries, and who may call it from a browser.

- Security headers on every response (`ROLEPULSE_API_SECURITY_HEADERS`): a Content-Security-
  Policy that allows nothing (JSON and assets need nothing; the GraphiQL page sets its own, see
  services/graphiql), `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` and
  `X-Frame-Options: DENY` for browsers that predate `frame-ancestors`. A header the app already
  set is kept.
- CORS (`ROLEPULSE_API_CORS_ORIGINS`): pages on the listed origins may call the API from a
  browser. A preflight from any other origin (every origin when the list is empty, the default)
  is answered 403 with a JSON error, rather than reaching the routes (which would answer 405 to
  OPTIONS and leave the caller guessing). Non-preflight requests are never refused here: CORS is
  enforced by the browser, which withholds a response that carries no
  `Access-Control-Allow-Origin` for its page's origin.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": API_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
CORS_METHODS = ("GET", "POST")
CORS_MAX_AGE_S = 600  # how long a browser may reuse a preflight's answer
CORS_REFUSED = "CORS_REFUSED"


class SecurityHeaders:
    """ASGI middleware adding `headers` to every HTTP response that lacks them."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] = SECURITY_HEADERS) -> None:
        self._app = app
        # Encoded once: this runs for every response, the cached ones included.
        self._headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
        ]
        self._names = frozenset(name for name, _ in self._headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._with_headers(message.get("headers", ()))
            await send(message)

        await self._app(scope, receive, send_with_headers)

    def _with_headers(self, headers: Sequence[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = self._names
        for name, _ in headers:
            if name.lower() in names:  # the app set one of them: keep it, add the others
                present = {name.lower() for name, _ in headers}
                return [*headers, *(h for h in self._headers if h[0] not in present)]
        return [*headers, *self._headers]


def cors(app: ASGIApp, origins: Sequence[str]) -> ASGIApp:
    """`app` behind the CORS policy for `origins` ("*": any origin; empty: none)."""
    if not origins:
        return _RefusePreflights(app)
    return _Cors(
        app,
        allow_origins=origins,
        allow_methods=CORS_METHODS,
        # Any request header a trusted page sends (an API key, say) is allowed; no cookies are
        # used, so credentials stay off and "*" origins stay safe.
        allow_headers=["*"],
        max_age=CORS_MAX_AGE_S,
    )


def _is_preflight(scope: Scope) -> Headers | None:
    if scope["type"] != "http" or scope["method"] != "OPTIONS":
        return None
    headers = Headers(scope=scope)
    if "origin" in headers and "access-control-request-method" in headers:
        return headers
    return None


def _refusal(reason: str, headers: Mapping[str, str] | None = None) -> Response:
    body = {"errors": [{"message": reason, "extensions": {"code": CORS_REFUSED}}]}
    return Response(
        json.dumps(body), status_code=403, media_type="application/json", headers=headers
    )


class _RefusePreflights:
    """CORS off: refuse every preflight, touch nothing else (no per-request cost but a check)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _is_preflight(scope)
        if headers is None:
            await self._app(scope, receive, send)
            return
        reason = f"Cross-origin requests are not allowed (origin {headers['origin'][:100]!r})"
        await _refusal(reason)(scope, receive, send)


class _Cors(CORSMiddleware):
    """Starlette's CORS middleware, refusing a preflight with a JSON 403 instead of text 400."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            return response
        # Starlette names what failed: "Disallowed CORS origin, headers".
        failed = bytes(response.body).decode().removeprefix("Disallowed CORS ")
        reason = f"Cross-origin request refused: {failed} not allowed"
        headers = {"Vary": response.headers["vary"]} if "vary" in response.headers else None
        return _refusal(reason, headers)
