"""The real app under a real uvicorn, over a fake read model: run by test_limits_http.py.

`python fake_api_server.py TIMEOUT_S` binds a free port on 127.0.0.1, prints it on the first
line of stdout and serves until terminated. `slow-role`'s read never ends, so a query for it runs
into the execution timeout.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Sequence

import uvicorn

from rolepulse.domain.taxonomy import RoleInfo
from rolepulse.schema.documents import MarketAggregateDoc, RoleAggregateDoc
from rolepulse.services.app import create_app
from rolepulse.services.read_model import WeeklyHistory
from rolepulse.settings import ApiSettings

TAXONOMY = {
    slug: RoleInfo(slug, slug.title(), "focus", ()) for slug in ("llm-engineer", "slow-role")
}


class FakeReadModel:
    async def roles(self, slugs: Sequence[str]) -> dict[str, RoleAggregateDoc]:
        if "slow-role" in slugs:
            await asyncio.sleep(3600)
        return {"llm-engineer": {"_id": "llm-engineer", "open": 3}}

    async def market(self) -> MarketAggregateDoc:
        return {"_id": "market", "open_ai": 12}

    async def role_weeks(self, slugs: Sequence[str], per_role: int) -> WeeklyHistory:
        return WeeklyHistory(None)

    async def ping(self) -> bool:
        return True


def main(timeout_s: float) -> None:
    app = create_app(FakeReadModel(), TAXONOMY, ApiSettings(execution_timeout_s=timeout_s))
    # IPPROTO_TCP spelled out: asyncio sets TCP_NODELAY only on sockets that say so, and with
    # Nagle on every keep-alive answer would wait 40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main(float(sys.argv[1]))
