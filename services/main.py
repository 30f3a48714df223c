"""Composition root of the API process: settings -> MongoDB client -> app -> uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import uvicorn
from pymongo import AsyncMongoClient
from starlette.applications import Starlette

from rolepulse.connections import mongo_client_kwargs
from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.services.app import create_app
from rolepulse.services.data_version import DataVersion
from rolepulse.services.read_memo import MemoReadModel, ReadMemo
from rolepulse.services.read_model import MongoReadModel
from rolepulse.settings import ApiSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

# Bounded waits so a missing MongoDB turns into GraphQL errors / a 503, never a hung request.
MONGO_TIMEOUT_MS = 5_000


def build_app(api: ApiSettings, mongo: MongoSettings, roles: Mapping[str, RoleInfo]) -> Starlette:
    """The app with a MongoDB read model whose client lives exactly as long as the lifespan."""
    read_model = MongoReadModel()
    data_version = DataVersion(
        read_model.data_version,
        api.cache_poll_s,
        watch=read_model.watch_data_version if api.cache_push else None,
        max_stale_s=api.cache_max_stale_s,
    )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Created here, not at import or build time: the async client binds to the running loop.
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
            **mongo_client_kwargs(mongo), timeoutMS=MONGO_TIMEOUT_MS
        )
        read_model.attach(client[mongo.database])
        try:
            # Followed even with the response cache off: subscriptions are pushed by it.
            async with data_version.running():
                yield
        finally:
            read_model.detach()
            await client.close()

    # Reads kept per data version: a request that misses the response cache then costs no
    # MongoDB read and nothing proportional to a role's employers or salary values.
    memo = MemoReadModel(read_model, ReadMemo(data_version, api.read_memo_max_bytes))
    return create_app(memo, roles, api, lifespan=lifespan, data_version=data_version)


def serve(api: ApiSettings, mongo: MongoSettings) -> None:
    """Run the API with uvicorn on api.host:api.port until interrupted (blocks)."""
    app = build_app(api, mongo, load_taxonomy().roles)
    uvicorn.run(
        app,
        host=api.host,
        port=api.port,
        log_level="info",
        lifespan="on",
        # No `server: uvicorn` header: it tells a scanner which exploits to try, nobody else.
        server_header=False,
        # The sans-I/O implementation of the `websockets` package (a dependency): the legacy one
        # is deprecated; without either, uvicorn treats a handshake as a plain GET.
        ws="websockets-sansio",
        # A websocket message is a GraphQL request like a POST body: bounded alike (uvicorn's
        # default is 16 MiB), so an operation over graphql-transport-ws is no larger than one
        # over HTTP.
        ws_max_size=api.max_body_bytes,
    )
