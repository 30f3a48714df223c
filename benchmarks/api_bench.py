"""GraphQL API throughput: the contract query vs a plain Starlette JSON endpoint, same run.

    python benchmarks/api_bench.py [--seconds 5] [--concurrency 16] [--rounds 2] [--data DIR]
    python benchmarks/api_bench.py --skip-http --stored 10000,1000000 --data DIR

Over HTTP, per server: requests per second, CPU per request, and p50 / p99 latency over all
rounds. In process (benchmarks/read_cost.py, after the HTTP rows): the contract query with
thousands more employers in the compared roles (`--companies`), and a filtered `role` query
with 10,000 vs 1,000,000 stored postings (`--stored`, on a SecantusDB on disk: `--data DIR`
keeps it, and its markets, for the next run; postings_bench.py's `--data` can be the same
directory), each with the read memo (services/read_memo.py) on and off.

Every server runs in its own uvicorn process (one worker) on loopback; the baseline returns the
very same response body as a constant, so the ratio is what GraphQL parsing/validation/execution
plus the MongoDB reads cost. Rounds alternate the servers to share the machine's noise; the best
round of each is kept. The load is bounded in time and only goes to 127.0.0.1.

A second baseline also sends the API's four security headers (services/http_policy.py): uvicorn
speaks HTTP/1.1 here through the pure-Python h11, which validates and scans every header, so
these four add 12 % to a plain endpoint's instructions per request (counted with valgrind,
through uvicorn's protocol in process: more than Starlette's routing and endpoint take). Against
that baseline, the ratio is what the API's code costs, not what its headers cost to send.

Besides requests per second, each server's CPU time per request is read from /proc (Linux) over
each round, the median of the rounds printed: on this shared 2-core machine a round's throughput
swings by 10 % and more with the neighbours' load, CPU per request by 1 - 2 %.

The cache-miss path (response cache off) runs twice, limits on and off, in the same run:
- on: the defaults (door limits, cost analysis, execution timeout) plus rate limiting, with a
  bucket too large to ever throttle (every request comes from 127.0.0.1), so it only costs;
- off: no cost analysis, no rate limiting, the door (services/limits.py) replaced by a
  pass-through, validation work and execution time unbounded in effect.
Their ratio is what the limits add to a request that misses the response cache (issue 9: <= 5 %).
It is measured twice. Over HTTP: two servers of each, started on, off, off, on (a server
started earlier answered up to 12 % slower than an identical one started later, in an A/A run),
the median of the rounds' ratios. In one process: both apps on one event loop over the same
database, `--ab-calls` requests to each in turn per round (`--ab-concurrency` at once, default
1), `--ab-rounds` rounds, the median of the rounds' ratios. The HTTP ratio charges each side its
own process's costs, garbage collection included, but its rounds swing by 10 % and more on this
shared 2-core machine; the in-process one sees the same moments of noise on both sides, but
the two apps share one garbage collector. Both are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import read_cost  # noqa: E402  (benchmarks/read_cost.py: this script's directory is on sys.path)

# Limits on and off twice each, started in the order on, off, off, on: here a server started
# earlier answers up to 12 % slower than an identical one started later (an A/A run shows it),
# and the mirrored pairs cancel that out.
UNCACHED = ("app-uncached", "app-uncached-nolimits", "app-uncached-nolimits#2", "app-uncached#2")
BASELINES = ("baseline", "baseline-headers")
KINDS = (*BASELINES, "app", *UNCACHED)
CONTRACT_QUERY = (ROOT / "schema" / "contract_query.graphql").read_text()
VARIABLES = {"a": "ai-software-engineer", "b": "ai-product-manager"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed_aggregates(mongo_uri: str, database: str) -> None:
    """Aggregates of the seed-page market, computed by the consumer's own pure batch plan.

    Written directly, not through the consumer's store, which also writes every posting with
    its indexes: 112 s for the seed page here.
    """
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
        if kind not in COLLECTION_OF_KIND:
            continue  # filter rollups: the contract query reads the role and market documents
        await client[database][COLLECTION_OF_KIND[kind]].update_one(
            {"_id": doc_id}, {"$inc": inc}, upsert=True
        )
    await client.close()


# ApiSettings per server kind beyond the defaults (see the module docstring).
LIMITS: dict[str, dict[str, Any]] = {
    "app": {},
    "app-uncached": {
        "rate_limit": True,
        "rate_limit_bucket": 10**12,
        "rate_limit_restore_per_s": 10**12,
    },
    "app-uncached-nolimits": {
        "cost_analysis": False,
        "rate_limit": False,
        "max_validation_work": 10**12,
        "execution_timeout_s": 3600.0,
    },
}


def serve(kind: str, port: int, mongo_uri: str, database: str, body_file: str) -> None:
    import uvicorn

    if kind in BASELINES:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        from rolepulse.services.http_policy import SECURITY_HEADERS

        body = Path(body_file).read_bytes()
        headers = dict(SECURITY_HEADERS) if kind == "baseline-headers" else None

        async def endpoint(_: Request) -> Response:
            return Response(body, media_type="application/json", headers=headers)

        app: Any = Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])
    else:
        from rolepulse.services.main import build_app
        from rolepulse.settings import ApiSettings, MongoSettings
        from rolepulse.taxonomy import load_taxonomy

        mongo = MongoSettings(uri=mongo_uri, database=database)
        kind = kind.partition("#")[0]
        api = ApiSettings(port=port, response_cache=kind == "app", **LIMITS[kind])
        if kind == "app-uncached-nolimits":
            from rolepulse.services import app as app_module

            # The door cannot be switched off by settings: take it out of this process.
            app_module.__dict__["RequestLimits"] = lambda inner, _limits: inner
        app = build_app(api, mongo, load_taxonomy().roles)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


async def load(port: int, seconds: float, concurrency: int) -> tuple[int, float, list[float]]:
    """Requests answered with 200 during `seconds`, `concurrency` at a time, the seconds, and
    each request's latency (ms).

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
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while (sent := time.perf_counter()) < deadline:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    raise RuntimeError(f"bad response: {head[:200]!r}")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                payload = await reader.readexactly(length)
                if b'"errors"' in payload:
                    raise RuntimeError(f"GraphQL errors: {payload[:300]!r}")
                done += 1
                latencies.append((time.perf_counter() - sent) * 1000)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - started, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (Linux /proc; NaN elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def limits_ab(
    mongo_uri: str, database: str, rounds: int, calls: int, concurrency: int
) -> list[float]:
    """Per round, throughput with the limits on / off (see the module docstring), in-process."""
    from contextlib import AsyncExitStack

    from rolepulse.services import app as app_module
    from rolepulse.services.main import build_app
    from rolepulse.settings import ApiSettings, MongoSettings
    from rolepulse.taxonomy import load_taxonomy

    mongo = MongoSettings(uri=mongo_uri, database=database)
    roles = load_taxonomy().roles
    apps: dict[str, Any] = {}
    door = app_module.__dict__["RequestLimits"]
    # "on" built last: settings applied process-wide (the validation work limit) are its own.
    for kind in ("app-uncached-nolimits", "app-uncached"):
        if kind == "app-uncached-nolimits":
            app_module.__dict__["RequestLimits"] = lambda inner, _limits: inner
        try:
            apps[kind] = build_app(ApiSettings(response_cache=False, **LIMITS[kind]), mongo, roles)
        finally:
            app_module.__dict__["RequestLimits"] = door
    body = json.dumps({"query": CONTRACT_QUERY, "variables": VARIABLES}).encode()
    async with AsyncExitStack() as stack:
        for app in apps.values():
            await stack.enter_async_context(app.router.lifespan_context(app))
        for app in apps.values():
            for _ in range(calls):
                await asgi_post(app, body)
        ratios = []
        for _ in range(rounds):
            took = dict.fromkeys(apps, 0.0)
            for call in range(calls):
                # A burst of `concurrency` requests to each in turn, each first every other
                # time: both see the same moments of the machine's noise.
                for kind in list(apps) if call % 2 == 0 else list(reversed(apps)):
                    started = time.perf_counter()
                    await asyncio.gather(*(asgi_post(apps[kind], body) for _ in range(concurrency)))
                    took[kind] += time.perf_counter() - started
            ratios.append(took["app-uncached-nolimits"] / took["app-uncached"])
    return ratios


async def asgi_post(app: Any, body: bytes) -> None:
    """One POST /graphql straight into the ASGI app, as uvicorn would hand it over."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            sent.append(message.get("body", b""))

    await app(scope, receive, send)
    if b'"errors"' in b"".join(sent) or not sent:
        raise RuntimeError(f"GraphQL errors: {b''.join(sent)[:300]!r}")


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def stored_postings(args: argparse.Namespace) -> None:
    """The filtered role rows (benchmarks/read_cost.py), on a SecantusDB on disk: in memory
    it fails near a million documents."""
    from rolepulse.devservices import LocalServices

    sizes = [int(n) for n in args.stored.split(",")]
    with ExitStack() as stack:
        data = args.data or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="rolepulse-bench-")
        )
        Path(data).mkdir(parents=True, exist_ok=True)
        services = stack.enter_context(LocalServices.start(mongo_storage=data))
        asyncio.run(
            read_cost.stored(services.mongo_uri, sizes, args.read_requests, args.read_rounds)
        )


def in_process_only(args: argparse.Namespace) -> None:
    from rolepulse.devservices import LocalServices

    if args.companies:
        extras = [int(n) for n in args.companies.split(",")]
        with LocalServices.start() as services:
            asyncio.run(
                read_cost.employers(
                    services.mongo_uri, extras, args.read_requests, args.read_rounds
                )
            )
    if args.stored:
        stored_postings(args)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load per server")
    parser.add_argument("--ab-rounds", type=int, default=20)
    parser.add_argument("--ab-calls", type=int, default=100)
    parser.add_argument("--ab-concurrency", type=int, default=1)
    parser.add_argument("--serve", choices=KINDS)
    parser.add_argument("--port", type=int)
    parser.add_argument("--mongo-uri")
    parser.add_argument("--database", default="bench")
    parser.add_argument("--body-file")
    parser.add_argument(
        "--companies",
        default="0,3000,10000",
        help="extra employers per compared role for the employers rows ('' skips them)",
    )
    parser.add_argument(
        "--stored",
        default="10000,1000000",
        help="stored postings for the filtered role rows ('' skips them)",
    )
    parser.add_argument(
        "--data",
        help="SecantusDB's directory for --stored, kept for the next run (as "
        "postings_bench.py's --data; one directory serves both)",
    )
    parser.add_argument("--read-requests", type=int, default=300, help="per case, in process")
    parser.add_argument("--read-rounds", type=int, default=6)
    parser.add_argument("--skip-http", action="store_true", help="only the in-process rows")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.mongo_uri, args.database, args.body_file)
        return
    if args.skip_http:
        in_process_only(args)
        return

    from rolepulse.devservices import LocalServices

    with LocalServices.start() as services:
        asyncio.run(seed_aggregates(services.mongo_uri, args.database))
        ports = {kind: free_port() for kind in KINDS}
        body_file = Path(services.run_dir) / "contract-response.json"
        procs: dict[str, subprocess.Popen[bytes]] = {}
        try:
            common = ["--mongo-uri", services.mongo_uri, "--database", args.database]
            common += ["--body-file", str(body_file)]
            for kind in ("app", *UNCACHED):
                cmd = [sys.executable, __file__, "--serve", kind, "--port", str(ports[kind])]
                procs[kind] = subprocess.Popen([*cmd, *common], env=os.environ)
                wait_ready(ports[kind])
            body = httpx.post(
                f"http://127.0.0.1:{ports['app']}/graphql",
                json={"query": CONTRACT_QUERY, "variables": VARIABLES},
            ).content
            body_file.write_bytes(body)
            for kind in BASELINES:
                cmd = [sys.executable, __file__, "--serve", kind, "--port", str(ports[kind])]
                procs[kind] = subprocess.Popen([*cmd, *common], env=os.environ)
                wait_ready(ports[kind])
            for kind in KINDS:  # not counted: a fresh server answers its first requests slower
                asyncio.run(load(ports[kind], args.warmup, args.concurrency))
            best = dict.fromkeys(KINDS, 0.0)
            cpu: dict[str, list[float]] = {kind: [] for kind in KINDS}  # µs per request
            latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}  # ms, all rounds
            limits_ratios = []
            for round_ in range(args.rounds):
                # Every other round in reverse: a server measured right after another one
                # (e.g. after the cached app's burst) is measurably slower here, whatever it is.
                rates = {}
                for kind in KINDS if round_ % 2 == 0 else reversed(KINDS):
                    used = cpu_seconds(procs[kind].pid)
                    done, took, ms = asyncio.run(load(ports[kind], args.seconds, args.concurrency))
                    used = cpu_seconds(procs[kind].pid) - used
                    latencies[kind] += ms
                    rates[kind] = done / took
                    best[kind] = max(best[kind], rates[kind])
                    cpu[kind].append(used / done * 1e6)
                on = rates["app-uncached"] + rates["app-uncached#2"]
                limits_ratios.append(
                    on / (rates["app-uncached-nolimits"] + rates["app-uncached-nolimits#2"])
                )
        finally:
            for p in procs.values():
                p.terminate()
                p.wait(timeout=10)
        ab = asyncio.run(
            limits_ab(
                services.mongo_uri,
                args.database,
                args.ab_rounds,
                args.ab_calls,
                args.ab_concurrency,
            )
        )
        if args.companies:
            extras = [int(n) for n in args.companies.split(",")]
            asyncio.run(
                read_cost.employers(
                    services.mongo_uri, extras, args.read_requests, args.read_rounds
                )
            )
    base = best["baseline"]
    # CPU per request: the median of the rounds; "x" columns: baseline / this, >1 is faster.
    cpu_us = {kind: statistics.median(values) for kind, values in cpu.items()}
    pair = {kind: (best[kind], cpu_us[kind]) for kind in (*BASELINES, "app")}
    for kind in ("app-uncached", "app-uncached-nolimits"):  # two servers each: their mean
        pair[kind] = (
            (best[kind] + best[f"{kind}#2"]) / 2,
            (cpu_us[kind] + cpu_us[f"{kind}#2"]) / 2,
        )
    print(f"contract query response: {len(body)} bytes, concurrency {args.concurrency}")
    print(
        f"{'':34} {'req/s':>8} {'x':>6} {'x hdrs':>6}   {'CPU µs/req':>10} {'x':>6} {'x hdrs':>6}"
        f"   {'p50 / p99 ms':>15}"
    )
    rows = [
        ("baseline (plain Starlette JSON):", "baseline"),
        ("same, plus the security headers:", "baseline-headers"),
        ("contract query, response cache:", "app"),
        ("contract query, no cache:", "app-uncached"),
        ("same, limits off:", "app-uncached-nolimits"),
    ]
    for label, kind in rows:
        rate, us = pair[kind]
        ms = latencies[kind] + latencies.get(f"{kind}#2", [])
        print(
            f"{label:34} {rate:8.0f} {rate / base:6.3f} {rate / best['baseline-headers']:6.3f}   "
            f"{us:10.1f} "
            f"{cpu_us['baseline'] / us:6.3f} {cpu_us['baseline-headers'] / us:6.3f}   "
            f"{read_cost.percentile(ms, 0.5):6.2f} / {read_cost.percentile(ms, 0.99):6.2f}"
        )
    if args.stored:
        stored_postings(args)
    # Per round, then the median: the two servers measured in the same stretch of noise.
    ratio = statistics.median(limits_ratios)
    rounds = ", ".join(f"{r:.3f}" for r in limits_ratios)
    print(f"limits on / off over HTTP:       {ratio:.3f}x  (median of rounds: {rounds})")
    ab_ratio = statistics.median(ab)
    spread = f"{min(ab):.3f}..{max(ab):.3f}"
    print(
        f"limits on / off in-process A/B:  {ab_ratio:.3f}x  (median of {len(ab)} rounds of "
        f"{args.ab_calls} x {args.ab_concurrency} requests each, {spread}): the limits add "
        f"{(1 / ab_ratio - 1) * 100:+.1f} % time to a cache miss"
    )


if __name__ == "__main__":
    main()
