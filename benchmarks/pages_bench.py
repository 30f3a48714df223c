"""Page latency from cache: the comparison page against a plain endpoint, same run.

    python benchmarks/pages_bench.py [--seconds 5] [--concurrency 16] [--rounds 3]

Each server runs in its own uvicorn process (one worker) on loopback, over the seed-page market's
aggregates (written as api_bench.py writes them):
- page: `GET /salaries/ai-software-engineer-vs-ai-product-manager/` from the API, its query
  answered by the response cache and its HTML by the memo of rendered pages (services/pages),
  as every view after the first at one data version is;
- page-304: the same request with the page's ETag in If-None-Match (a browser revalidating);
- query: the page's own GraphQL query POSTed to the same kind of server (what the page costs a
  client that asks the API instead);
- baseline: a plain Starlette endpoint sending the page's very bytes as a constant.
Latency is measured per request by a bare keep-alive HTTP/1.1 client, `--concurrency`
connections at once for `--seconds`; rounds alternate the servers' order so each meets the same
moments of the machine's load, and each server's p50 / p99 are the medians over the rounds. The
load goes to 127.0.0.1 only and is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PAGE = "/salaries/ai-software-engineer-vs-ai-product-manager/"
KINDS = ("baseline", "page", "page-304", "query")
QUERY = (ROOT / "services" / "pages" / "queries" / "compare.graphql").read_text()
VARIABLES = {"a": "ai-software-engineer", "b": "ai-product-manager", "basis": "MAX"}


def api_bench() -> Any:
    spec = importlib.util.spec_from_file_location("api_bench", ROOT / "benchmarks/api_bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(kind: str, port: int, mongo_uri: str, database: str, body_file: str) -> None:
    import uvicorn

    if kind == "baseline":
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        body = Path(body_file).read_bytes()

        async def endpoint(_: Request) -> Response:
            return Response(body, media_type="text/html; charset=utf-8")

        app: Any = Starlette(routes=[Route(PAGE, endpoint)])
    else:
        from rolepulse.services.main import build_app
        from rolepulse.settings import ApiSettings, MongoSettings
        from rolepulse.taxonomy import load_taxonomy

        mongo = MongoSettings(uri=mongo_uri, database=database)
        app = build_app(ApiSettings(port=port), mongo, load_taxonomy().roles)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def request_bytes(kind: str, etag: str) -> tuple[bytes, bytes]:
    """The request to send, and the status line to expect."""
    if kind == "query":
        body = json.dumps({"query": QUERY, "variables": VARIABLES}).encode()
        head = (
            "POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body, b"HTTP/1.1 200"
    extra = f"If-None-Match: {etag}\r\n" if kind == "page-304" else ""
    head = f"GET {PAGE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/html\r\n{extra}\r\n"
    return head.encode(), b"HTTP/1.1 304" if kind == "page-304" else b"HTTP/1.1 200"


async def load(
    port: int, request: bytes, status: bytes, seconds: float, concurrency: int
) -> list[float]:
    """Each request's latency (s) over `seconds`, `concurrency` connections at once."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(status):
                    raise RuntimeError(f"bad response: {head[:200]!r}")
                lower = head.lower()
                if b"content-length:" in lower:
                    length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--serve", choices=("baseline", "api"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--mongo-uri")
    parser.add_argument("--database", default="bench")
    parser.add_argument("--body-file")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.mongo_uri, args.database, args.body_file)
        return

    sys.path.insert(0, str(ROOT))
    from rolepulse.devservices import LocalServices

    with LocalServices.start() as services:
        asyncio.run(api_bench().seed_aggregates(services.mongo_uri, args.database))
        body_file = Path(services.run_dir) / "page.html"
        # One API process serves the page, its 304 and its query; a second the same, so the
        # page and the query are each measured on a server of their own.
        ports = {"api": free_port(), "api-query": free_port(), "baseline": free_port()}
        common = ["--mongo-uri", services.mongo_uri, "--database", args.database]
        common += ["--body-file", str(body_file)]
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for name in ("api", "api-query"):
                cmd = [sys.executable, __file__, "--serve", "api", "--port", str(ports[name])]
                procs.append(subprocess.Popen([*cmd, *common], env=os.environ))
                wait_ready(ports[name])
            url = f"http://127.0.0.1:{ports['api']}{PAGE}"
            deadline = time.monotonic() + 10
            while "etag" not in (page := httpx.get(url)).headers:  # the data version known
                assert time.monotonic() < deadline, "the API follows no data version"
                time.sleep(0.1)
            body_file.write_bytes(page.content)
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
            port_of = {"baseline": ports["baseline"], "page": ports["api"],
                       "page-304": ports["api"], "query": ports["api-query"]}  # fmt: skip
            requests = {kind: request_bytes(kind, page.headers["etag"]) for kind in KINDS}
            for kind in KINDS:  # not counted: a fresh server answers its first requests slower
                asyncio.run(load(port_of[kind], *requests[kind], args.warmup, args.concurrency))
            p50: dict[str, list[float]] = {kind: [] for kind in KINDS}
            p99: dict[str, list[float]] = {kind: [] for kind in KINDS}
            rate: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for round_ in range(args.rounds):
                for kind in KINDS if round_ % 2 == 0 else reversed(KINDS):
                    took = asyncio.run(
                        load(port_of[kind], *requests[kind], args.seconds, args.concurrency)
                    )
                    p50[kind].append(percentile(took, 0.50) * 1000)
                    p99[kind].append(percentile(took, 0.99) * 1000)
                    rate[kind].append(len(took) / args.seconds)
        finally:
            for proc in procs:
                proc.terminate()
                proc.wait(timeout=10)
    med = {k: (statistics.median(p50[k]), statistics.median(p99[k]), statistics.median(rate[k]))
           for k in KINDS}  # fmt: skip
    base = med["baseline"]
    print(f"page {PAGE}: {len(page.content)} bytes; concurrency {args.concurrency}, "
          f"{args.rounds} rounds of {args.seconds:g} s (medians of the rounds)")  # fmt: skip
    print(f"{'':36} {'p50 ms':>7} {'p99 ms':>7} {'req/s':>7} {'p99 x base':>10}")
    labels = {
        "baseline": "baseline (the page's bytes, constant)",
        "page": "page, from cache",
        "page-304": "page, revalidated (304)",
        "query": "its GraphQL query, from cache",
    }
    for kind in KINDS:
        lo, hi, r = med[kind]
        print(f"{labels[kind]:36} {lo:7.1f} {hi:7.1f} {r:7.0f} {hi / base[1]:10.2f}")
    print("p99 per round: " + "; ".join(
        f"{k} " + ", ".join(f"{v:.1f}" for v in p99[k]) for k in KINDS))  # fmt: skip


if __name__ == "__main__":
    main()
