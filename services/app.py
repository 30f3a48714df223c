"""The ASGI application: GraphQL (+ GraphiQL) at /graphql and a health check at /healthz.

Pure wiring: nothing connects here. The composition root (`services.main`) passes a read
model whose connection it opens in the lifespan, so tests can pass a fake or a real database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Lifespan
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.data_version import DataVersion
from rolepulse.services.graphql.context import Context, build_context
from rolepulse.services.graphql.schema import build_schema
from rolepulse.services.read_model import ReadModel
from rolepulse.services.response_cache import ResponseCache
from rolepulse.settings import ApiSettings

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 2.0  # a health probe must answer even when MongoDB hangs


class RolepulseGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our typed per-request context."""

    def __init__(
        self, read_model: ReadModel, roles: Mapping[str, RoleInfo], settings: ApiSettings
    ) -> None:
        super().__init__(build_schema(settings), graphql_ide="graphiql")
        self._read_model = read_model
        self._roles = roles

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return build_context(self._read_model, self._roles)


def create_app(
    read_model: ReadModel,
    roles: Mapping[str, RoleInfo],
    settings: ApiSettings,
    *,
    lifespan: Lifespan[Starlette] | None = None,
    data_version: DataVersion | None = None,
) -> Starlette:
    """Build the Starlette app over `read_model`; `roles` is the taxonomy (slug -> RoleInfo).

    With `data_version`, identical GraphQL POSTs are answered from a response cache while the
    data version stands still (see services/response_cache.py, services/data_version.py).
    """
    graphql: ASGIApp = RolepulseGraphQL(read_model, roles, settings)
    if data_version is not None:
        graphql = ResponseCache(graphql, data_version)

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
        return JSONResponse({"errors": [{"message": "Internal error"}]}, status_code=500)

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={Exception: internal_error},
        lifespan=lifespan,
    )
