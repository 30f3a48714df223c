"""GraphQL API throughput: the contract query vs a plain Starlette JSON endpoint, same run.

    python benchmarks/api_bench.py [--seconds 5] [--concurrency 16]

Both servers run in their own uvicorn process (one worker) on loopback; the baseline returns the
very same response body as a constant, so the ratio is what GraphQL parsing/validation/execution
plus the MongoDB reads cost. Rounds alternate baseline/app to share the machine's noise; the best
round of each is kept. The load is bounded in time and only goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

KINDS = ("baseline", "app", "app-uncached")
CONTRACT_QUERY = (ROOT / "schema" / "contract_query.graphql").read_text()
VARIABLES = {"a": "ai-software-engineer", "b": "ai-product-manager"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed_aggregates(mongo_uri: str, database: str) -> None:
    """Aggregates of the seed-page market, computed by the consumer's own pure batch plan."""
    from pymongo import AsyncMongoClient

    from rolepulse.consumers.decode import decode
    from rolepulse.consumers.plan import plan_batch
    from rolepulse.consumers.store import COLLECTION_OF_KIND
    from rolepulse.demo.seed_page import generate
    from rolepulse.domain.lifecycle import Closed, Expired, Observed
    from rolepulse.domain.normalize import Normalizer
    from rolepulse.taxonomy import load_taxonomy

    normalizer = Normalizer(load_taxonomy())
    outcomes = [decode(json.dumps(e).encode(), normalizer) for e in generate()]
    transitions = [t for t in outcomes if isinstance(t, Observed | Closed | Expired)]
    plan = plan_batch(transitions, {}, set())
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    for (kind, doc_id), inc in plan.increments.items():
        await client[database][COLLECTION_OF_KIND[kind]].update_one(
            {"_id": doc_id}, {"$inc": inc}, upsert=True
        )
    await client.close()


def serve(kind: str, port: int, mongo_uri: str, database: str, body_file: str) -> None:
    import uvicorn

    if kind == "baseline":
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        body = Path(body_file).read_bytes()

        async def endpoint(_: Request) -> Response:
            return Response(body, media_type="application/json")

        app: Any = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])
    else:
        from rolepulse.services.main import build_app
        from rolepulse.settings import ApiSettings, MongoSettings
        from rolepulse.taxonomy import load_taxonomy

        mongo = MongoSettings(uri=mongo_uri, database=database)
        api = ApiSettings(port=port, response_cache=kind == "app")
        app = build_app(api, mongo, load_taxonomy().roles)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def load(port: int, seconds: float, concurrency: int) -> float:
    """Requests per second answered with 200 during `seconds`, `concurrency` at a time.

    A bare keep-alive HTTP/1.1 client on asyncio streams: a full client library costs more CPU
    per request than the baseline server and would cap both sides at the client's speed.
    """
    body = json.dumps({"query": CONTRACT_QUERY, "variables": VARIABLES}).encode()
    request = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"bad response: {head[:200]!r}")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                payload = await reader.readexactly(length)
                if b'"errors"' in payload:
                    raise RuntimeError(f"GraphQL errors: {payload[:300]!r}")
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", choices=KINDS)
    parser.add_argument("--port", type=int)
    parser.add_argument("--mongo-uri")
    parser.add_argument("--database", default="bench")
    parser.add_argument("--body-file")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.mongo_uri, args.database, args.body_file)
        return

    from rolepulse.devservices import LocalServices

    with LocalServices.start() as services:
        asyncio.run(seed_aggregates(services.mongo_uri, args.database))
        ports = {kind: free_port() for kind in KINDS}
        body_file = Path(services.run_dir) / "contract-response.json"
        procs = []
        try:
            common = ["--mongo-uri", services.mongo_uri, "--database", args.database]
            common += ["--body-file", str(body_file)]
            for kind in ("app", "app-uncached"):
                cmd = [sys.executable, __file__, "--serve", kind, "--port", str(ports[kind])]
                procs.append(subprocess.Popen([*cmd, *common], env=os.environ))
                wait_ready(ports[kind])
            body = httpx.post(
                f"http://127.0.0.1:{ports['app']}/graphql",
                json={"query": CONTRACT_QUERY, "variables": VARIABLES},
            ).content
            body_file.write_bytes(body)
            cmd = [
                sys.executable,
                __file__,
                "--serve",
                "baseline",
                "--port",
                str(ports["baseline"]),
            ]
            procs.append(subprocess.Popen([*cmd, *common], env=os.environ))
            wait_ready(ports["baseline"])
            best = dict.fromkeys(KINDS, 0.0)
            for _ in range(args.rounds):
                for kind in KINDS:
                    rps = asyncio.run(load(ports[kind], args.seconds, args.concurrency))
                    best[kind] = max(best[kind], rps)
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=10)
    base = best["baseline"]
    print(f"contract query response: {len(body)} bytes, concurrency {args.concurrency}")
    print(f"baseline (plain Starlette JSON): {base:8.0f} req/s  1.000x")
    print(f"contract query, response cache:  {best['app']:8.0f} req/s  {best['app'] / base:.3f}x")
    uncached = best["app-uncached"]
    print(f"contract query, no cache:        {uncached:8.0f} req/s  {uncached / base:.3f}x")


if __name__ == "__main__":
    main()
