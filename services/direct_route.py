"""GraphQL POSTs straight to their endpoint, past Starlette's router and exception middleware.

Starlette's `ExceptionMiddleware` and `Router` cost 3 µs per request in process (a Request
object, a send wrapper, matching routes, the child scope): a third of an answer from the
response cache. For `POST /graphql` they do nothing: the route is fixed, and the GraphQL chain
(the door, the rate limiter, the cache, strawberry's view) answers every error it knows of
itself; the only handler the exception middleware holds is for Starlette's `HTTPException`,
which nothing on that chain raises (strawberry raises cross_web's, which the view answers). An
unexpected exception still reaches `ServerErrorMiddleware` outside, and so the JSON 500 with the
security headers.

Installed as the innermost user middleware: the security headers and CORS still wrap the
request, and everything else (GET, websockets, other paths, a `root_path`) takes the router.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class DirectRoute:
    """`POST <path>` (no root path) to `endpoint`; every other request to `app` (the router)."""

    def __init__(self, app: ASGIApp, path: str, endpoint: ASGIApp) -> None:
        self._app = app
        self._path = path
        self._endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == self._path
            and not scope.get("root_path")
        ):
            await self._endpoint(scope, receive, send)
            return
        await self._app(scope, receive, send)
