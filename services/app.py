"""The ASGI application: GraphQL (+ GraphiQL) at /graphql, a health check at /healthz, and the
pages of the figures at /salaries/ and /companies/ (services/pages).

Pure wiring: nothing connects here. The composition root (`services.main`) passes a read
model whose connection it opens in the lifespan, so tests can pass a fake or a real database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Lifespan, Scope
from starlette.websockets import WebSocket
from strawberry.extensions import DisableIntrospection
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.data_version import DataVersion
from rolepulse.services.direct_route import DirectRoute
from rolepulse.services.graphiql import GraphiQLAssets, load_graphiql
from rolepulse.services.graphql.context import Context, build_context
from rolepulse.services.graphql.guard import HTTP_CODES, GuardedGraphQL, limit_validation_work
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.graphql.subscriptions import LiveUpdates
from rolepulse.services.http_policy import SECURITY_HEADERS, SecurityHeaders, cors
from rolepulse.services.limits import DoorLimits, RequestLimits, error_body
from rolepulse.services.pages import Pages
from rolepulse.services.ratelimit import (
    ADMISSION_SCOPE_KEY,
    Admission,
    ClientIdentity,
    rate_limit_gate,
)
from rolepulse.services.read_model import ReadModel
from rolepulse.services.response_cache import ResponseCache
from rolepulse.services.websocket import SubscriptionAdmission, subscriptions_only
from rolepulse.settings import ApiSettings

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 2.0  # a health probe must answer even when MongoDB hangs


class RolepulseGraphQL(GuardedGraphQL):
    """Strawberry's ASGI view with our typed per-request context and our GraphiQL page.

    HTTP and websockets (graphql-transport-ws only; the older graphql-ws protocol is
    unmaintained) reach the same view; a websocket from a browser page must come from the API's
    own origin or one of `cors_origins` (strawberry checks the handshake's Origin), and carries
    subscriptions only (services/websocket.py).
    """

    def __init__(
        self,
        read_model: ReadModel,
        roles: Mapping[str, RoleInfo],
        settings: ApiSettings,
        graphiql: GraphiQLAssets | None = None,
    ) -> None:
        schema = build_schema(settings, roles)
        if not settings.introspection:
            # A switch of the deployment, not of the schema (export_sdl and the tests use the
            # full one). Its validation rule is one stable class, so the validation cache holds.
            schema.extensions = (*schema.extensions, DisableIntrospection)
        super().__init__(
            schema,
            graphql_ide="graphiql",  # always ours; render_graphql_ide answers when it is off
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_s),
            allowed_origins=settings.cors_origins,
            # Each subscription holds a task and a place in a live-updates group until it ends.
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
        )
        self._read_model = read_model
        self._roles = roles
        self._graphiql = graphiql
        self.graphql_transport_ws_handler_class = subscriptions_only(settings.max_query_tokens)
        self.execution_timeout_s = settings.execution_timeout_s
        limit_validation_work(settings.max_validation_work)
        # Set by create_app: the live-updates hub subscriptions join, and (rate limiting on) the
        # bucket of a websocket's client, which the HTTP-only gate never sees.
        self.live: LiveUpdates | None = None
        self.websocket_admission: Callable[[Scope], Admission] | None = None

    async def render_graphql_ide(self, request: Request) -> Response:
        # Strawberry's own page loads GraphiQL from a CDN; ours loads the packaged copy.
        if self._graphiql is None:
            # A JSON error like every other, rather than strawberry's plain-text 404.
            message = "GraphiQL is off on this server; POST GraphQL queries to this URL"
            body = {"errors": [{"message": message, "extensions": {"code": "NOT_FOUND"}}]}
            return JSONResponse(body, status_code=404)
        return self._graphiql.page()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            # One context per socket: every subscribe on it is charged to its client's bucket.
            make = self.websocket_admission
            admission = make(request.scope) if make is not None else None
            return build_context(self._read_model, self._roles, admission, live=self.live)
        # Set by RateLimitGate when rate limiting is on: the caller's bucket, for the cost check.
        admission = request.scope.get(ADMISSION_SCOPE_KEY)
        return build_context(self._read_model, self._roles, admission)


def create_app(
    read_model: ReadModel,
    roles: Mapping[str, RoleInfo],
    settings: ApiSettings,
    *,
    lifespan: Lifespan[Starlette] | None = None,
    data_version: DataVersion | None = None,
) -> Starlette:
    """Build the Starlette app over `read_model`; `roles` is the taxonomy (slug -> RoleInfo).

    With `data_version`, subscriptions are pushed as it changes (services/graphql/subscriptions.py)
    and, with `settings.response_cache`, identical GraphQL POSTs are answered from a response
    cache while it stands still (see services/response_cache.py, services/data_version.py).
    """
    graphiql = load_graphiql() if settings.graphiql_enabled else None
    view = RolepulseGraphQL(read_model, roles, settings, graphiql)
    graphql: ASGIApp = view
    if data_version is not None:
        view.live = LiveUpdates(data_version, lambda: build_context(read_model, roles))
        if settings.response_cache:
            graphql = ResponseCache(graphql, data_version, max_bytes=settings.cache_max_bytes)
    if settings.rate_limit:
        # Outside the cache, so answers from memory are charged too and carry the caller's
        # live throttleStatus rather than the one stored with the cached body.
        gate = rate_limit_gate(graphql, settings)
        graphql = gate
        # The same buckets for websockets, which reach the view past the HTTP-only gate.
        identity = ClientIdentity(settings.rate_limit_key_header, settings.rate_limit_keys())
        view.websocket_admission = lambda scope: SubscriptionAdmission(
            gate.limiter, identity(scope)
        )
    # Outermost: a refused request costs no cache lookup, no parsing, no execution.
    graphql = RequestLimits(graphql, DoorLimits.from_settings(settings))
    # The pages query through this same chain, in process: limits, rate limit and cache hold.
    pages = (
        Pages(
            graphql,
            roles,
            data_version,
            graphiql=graphiql is not None,
            key_header=settings.rate_limit_key_header,
        )
        if settings.pages
        else None
    )

    async def healthz(_: Request) -> JSONResponse:
        try:
            ok = await asyncio.wait_for(read_model.ping(), HEALTH_TIMEOUT_S)
        except TimeoutError:
            ok = False
        body = {"status": "ok" if ok else "unavailable", "mongo": "ok" if ok else "down"}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        # Last resort outside resolvers (those are masked by the schema): JSON, never a page.
        log.exception("unhandled error", exc_info=exc)
        # Starlette sends this from outside the middleware: the headers must be added here.
        headers = dict(SECURITY_HEADERS) if settings.security_headers else None
        return JSONResponse(
            {"errors": [{"message": "Internal error"}]}, status_code=500, headers=headers
        )

    async def http_error(_: Request, exc: Exception) -> Response:
        # Unknown paths and wrong methods elsewhere than /graphql: JSON like every other error.
        assert isinstance(exc, HTTPException)
        code = HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
        body = error_body(exc.detail, code)
        return Response(body, exc.status_code, exc.headers, media_type="application/json")

    middleware = [
        Middleware(cors, origins=settings.cors_origins),
        # Innermost: a GraphQL POST skips the router; services/direct_route.py says why it may.
        Middleware(DirectRoute, path="/graphql", endpoint=graphql),
    ]
    if settings.security_headers:
        middleware.insert(0, Middleware(SecurityHeaders))  # outermost: CORS refusals get them too
    return Starlette(
        routes=[
            # No `methods`: the door answers any other method with a JSON 405.
            Route("/graphql", graphql),
            # The bare view: the HTTP-only wrappers around `graphql` are no use to a websocket.
            WebSocketRoute("/graphql", view),
            Route("/healthz", healthz, methods=["GET"]),
            *(graphiql.routes() if graphiql is not None else ()),
            *(pages.routes() if pages is not None else ()),
        ],
        middleware=middleware,
        exception_handlers={HTTPException: http_error, Exception: internal_error},
        lifespan=lifespan,
    )
