"""Drill-down pages (`postings`) with few vs many stored postings: p50/p99 per query shape.

    python benchmarks/postings_bench.py [--sizes 10000,200000] [--requests 150] [--rounds 5]
    python benchmarks/postings_bench.py --sizes 10000,1000000 --data DIR   # the target; long

Starts its own SecantusDB, on disk (in memory it fails near a million documents): in a temporary
directory, or in `--data DIR`, kept with its markets for the next run; `--mongo-uri` names a
running server instead. For each size, one database gets the consumer's indexes
(`MongoBatchStore.ensure_indexes`, the drill-down's included) and a synthetic market written
**directly** as stored documents (rolepulse/demo/synthetic_postings.py: the shape `state_to_doc`
writes, `counted` flags included), in batches of 5,000, not through Kafka and the consumer: the
consumer applies about 1,000 events a second here, so a million postings would take 17 minutes
before anything is measured, and the drill-down reads only `postings`. The role and market
aggregates are computed from the same postings (`contribution`, what the consumer adds up) and
written too, as is a stream clock: SALARY_DESC windows are sized from the role's salary
histogram, and totalCount comes from the role document. Rollup documents (role_cells, ...) are
not written: no measured query reads them.

Then the real app (services.main.build_app, response cache off, every limit on), one per size,
answers GraphQL POSTs in this process over httpx's ASGI transport, one at a time. The sizes take
turns shape by shape over `--rounds` rounds (this shared machine's load changes by the minute;
each size meets the same moments of it), `--requests` per shape and size in all, after two
warm-up requests; p50 and p99 of the wall time per request. Shapes: a role's newest first (first
page; pages deeper in, from cursors collected by walking 30 pages), its best paid, the market's
newest, a role under a seniority + work-mode filter (checked on the role's range), one large
company's postings, and the role's first page with totalCount. The target (issue 10, part 7):
p50 and p99 with the largest size within 1.2x of those with the smallest.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import AsyncExitStack, ExitStack
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rolepulse.consumers.documents import doc_to_state  # noqa: E402
from rolepulse.consumers.store import COLLECTION_OF_KIND, MongoBatchStore  # noqa: E402
from rolepulse.demo.synthetic_postings import MarketShape, company_name, posting_docs  # noqa: E402
from rolepulse.domain.aggregates import add_increments, contribution  # noqa: E402
from rolepulse.services.main import build_app  # noqa: E402
from rolepulse.settings import ApiSettings, MongoSettings  # noqa: E402
from rolepulse.taxonomy import load_taxonomy  # noqa: E402

Doc = dict[str, Any]
BATCH = 5_000
SEED = 11
ROLE = "ai-software-engineer"
FIELDS = "id title company metro salary { annualMaxUsd } firstSeen ageDays clusterSize"
PAGE = (
    "query P($role: String, $filter: PostingFilter, $after: String, $order: PostingOrder!) {"
    " postings(role: $role, filter: $filter, first: 20, after: $after, orderBy: $order) {"
    " pageInfo { hasNextPage endCursor } edges { node { " + FIELDS + " } } } }"
)
WITH_TOTAL = (
    "query P($role: String, $order: PostingOrder!) {"
    " postings(role: $role, first: 20, orderBy: $order) { totalCount totalCountIsLowerBound"
    " pageInfo { hasNextPage endCursor } edges { node { " + FIELDS + " } } } }"
)
SHAPES: dict[str, tuple[str, dict[str, Any]]] = {
    "role, newest first": (PAGE, {"role": ROLE, "order": "FIRST_SEEN_DESC"}),
    "role, newest, pages 2-30": (PAGE, {"role": ROLE, "order": "FIRST_SEEN_DESC"}),
    "role, best paid": (PAGE, {"role": ROLE, "order": "SALARY_DESC"}),
    "market, newest": (PAGE, {"order": "FIRST_SEEN_DESC"}),
    "role, senior + remote/hybrid": (
        PAGE,
        {
            "role": ROLE,
            "order": "FIRST_SEEN_DESC",
            "filter": {"seniorities": ["SENIOR"], "workModes": ["REMOTE", "HYBRID"]},
        },
    ),
    "one company, newest": (
        PAGE,
        {"order": "FIRST_SEEN_DESC", "filter": {"companies": [company_name(0)]}},
    ),
    "role, newest + totalCount": (WITH_TOTAL, {"role": ROLE, "order": "FIRST_SEEN_DESC"}),
}


MARKET_VERSION = 1  # bump when the synthetic market changes: stored markets are rewritten


async def load_market(uri: str, database: str, size: int) -> None:
    """`size` postings, their role and market aggregates and a stream clock, written directly;
    nothing is written if the database already holds this market (`--data` keeps it)."""
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True)
    marker = {"_id": "market", "size": size, "seed": SEED, "version": MARKET_VERSION}
    if await client[database].bench_market.find_one(marker) is not None:
        print(f"  {size:,} postings already stored", flush=True)
        await client.close()
        return
    await client.drop_database(database)
    db: AsyncDatabase[Doc] = client[database]
    await MongoBatchStore(client, database).ensure_indexes()
    shape = MarketShape.default()
    totals: Counter[tuple[tuple[str, str], str]] = Counter()
    latest = None
    started = time.perf_counter()
    for start in range(0, size, BATCH):
        docs = list(posting_docs(shape, SEED, size, start, min(size, start + BATCH)))
        await db.postings.insert_many(docs, ordered=False)
        for doc in docs:
            latest = doc["last_event_at"] if latest is None else max(latest, doc["last_event_at"])
            if doc["counted"]:  # a job counts through one member of its cluster
                totals.update(
                    {
                        k: v
                        for k, v in contribution(doc_to_state(doc)).items()
                        if k[0][0] in COLLECTION_OF_KIND
                    }
                )
        done = start + len(docs)
        if done % 100_000 == 0 or done == size:
            rate = done / (time.perf_counter() - started)
            print(f"  {done:,} / {size:,} postings written ({rate:,.0f}/s)", flush=True)
    by_doc: dict[tuple[str, str], dict[str, int]] = {}
    for (ref, path), value in totals.items():
        by_doc.setdefault(ref, {})[path] = value
    for (kind, doc_id), increments in by_doc.items():
        doc = add_increments({"_id": doc_id}, increments)
        await db[COLLECTION_OF_KIND[kind]].replace_one({"_id": doc_id}, doc, upsert=True)
    offset = {"topic": "postings", "partition": 0, "next_offset": size, "max_event_at": latest}
    await db.consumer_offsets.replace_one({"_id": "postings|0"}, offset, upsert=True)
    await db.bench_market.insert_one(marker)
    await client.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Api:
    """The app over one database, asked in this process (httpx's ASGI transport)."""

    def __init__(self, uri: str, database: str) -> None:
        settings = ApiSettings(response_cache=False)
        self.app = build_app(settings, MongoSettings(uri=uri, database=database), _ROLES)
        self.cursors: list[str] = []

    async def ask(self, client: httpx.AsyncClient, query: str, variables: Mapping[str, Any]) -> Any:
        body = {"query": query, "variables": dict(variables)}
        answer = (await client.post("/graphql", json=body)).json()
        assert "errors" not in answer, answer
        return answer["data"]["postings"]


_ROLES = load_taxonomy().roles


class Reads(monitoring.CommandListener):
    """Counts what requests read from `postings`: commands, and postings returned. Timings on
    a shared machine swing; this work does not, so it shows what grows with the store."""

    def __init__(self) -> None:
        self.commands = 0
        self.postings = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        command = event.command
        if command.get("find") == "postings" or command.get("collection") == "postings":
            self.commands += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") if isinstance(event.reply, Mapping) else None
        if isinstance(cursor, Mapping) and str(cursor.get("ns", "")).endswith(".postings"):
            self.postings += len(cursor.get("firstBatch", cursor.get("nextBatch", ())))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


READS = Reads()
monitoring.register(READS)


async def measure(
    uri: str, sizes: list[int], requests: int, rounds: int
) -> dict[int, dict[str, tuple[float, float, float, float]]]:
    """p50 / p99 (ms), and `postings` commands and postings read per request, per size and
    shape. Sizes take turns, shape by shape, over `rounds` rounds: this shared 2-core machine's
    load changes by the minute, and each size then meets the same moments of it."""
    apis = {size: Api(uri, f"postings_bench_{size}") for size in sizes}
    times: dict[tuple[int, str], list[float]] = {}
    reads: dict[tuple[int, str], list[int]] = {}
    async with AsyncExitStack() as stack:
        clients: dict[int, httpx.AsyncClient] = {}
        for size, api in apis.items():
            await stack.enter_async_context(api.app.router.lifespan_context(api.app))
            transport = httpx.ASGITransport(app=api.app)
            client = httpx.AsyncClient(transport=transport, base_url="http://api")
            clients[size] = await stack.enter_async_context(client)
            # Cursors of pages 2..30 of the role's newest first, for the deeper pages.
            variables = SHAPES["role, newest, pages 2-30"][1]
            after = None
            for _ in range(30):
                page = await api.ask(client, PAGE, {**variables, "after": after})
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
                api.cursors.append(after)
        rng = random.Random(1)
        for round_ in range(rounds):
            for name, (query, base) in SHAPES.items():
                for size, api in apis.items():
                    client = clients[size]
                    deep = name.endswith("pages 2-30")
                    for i in range(requests // rounds + (2 if round_ == 0 else 0)):
                        extra = {"after": rng.choice(api.cursors)} if deep else {}
                        before = (READS.commands, READS.postings)
                        started = time.perf_counter()
                        page = await api.ask(client, query, {**base, **extra})
                        elapsed = time.perf_counter() - started
                        assert page["edges"], name
                        if round_ or i >= 2:  # two warm-up requests first
                            times.setdefault((size, name), []).append(elapsed * 1000)
                            counts = reads.setdefault((size, name), [0, 0, 0])
                            counts[0] += 1
                            counts[1] += READS.commands - before[0]
                            counts[2] += READS.postings - before[1]
            print(f"  round {round_ + 1} / {rounds} done", flush=True)
    out: dict[int, dict[str, tuple[float, float, float, float]]] = {}
    for size in sizes:
        out[size] = {}
        for name in SHAPES:
            n, commands, postings = reads[size, name]
            ms = times[size, name]
            out[size][name] = (
                percentile(ms, 0.5),
                percentile(ms, 0.99),
                commands / n,
                postings / n,
            )
    return out


async def run(uri: str, sizes: list[int], requests: int, rounds: int) -> None:
    for size in sizes:
        print(f"{size:,} stored postings (written directly, batches of {BATCH:,})", flush=True)
        started = time.perf_counter()
        await load_market(uri, f"postings_bench_{size}", size)
        print(f"  ready in {time.perf_counter() - started:,.0f} s", flush=True)
    print(f"measuring: {requests} requests per shape and size, {rounds} rounds", flush=True)
    measured = await measure(uri, sizes, requests, rounds)
    small, large = min(sizes), max(sizes)
    columns = " | ".join(f"{size:,}" for size in sizes)
    print(f"\np50 / p99 per request\n\n| shape | {columns} | {large:,} / {small:,} |")
    print("|---|" + "---|" * len(sizes) + "---|")
    for name in SHAPES:
        cells = " | ".join(
            f"{measured[size][name][0]:.1f} / {measured[size][name][1]:.1f} ms" for size in sizes
        )
        (a50, a99, _, _), (b50, b99, _, _) = measured[small][name], measured[large][name]
        print(f"| {name} | {cells} | {b50 / a50:.2f}x, {b99 / a99:.2f}x |")
    print(f"\n`postings` commands / postings read per request\n\n| shape | {columns} |")
    print("|---|" + "---|" * len(sizes))
    for name in SHAPES:
        cells = " | ".join(
            f"{measured[size][name][2]:.1f} / {measured[size][name][3]:.0f}" for size in sizes
        )
        print(f"| {name} | {cells} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,200000", help="stored postings, comma-separated")
    parser.add_argument("--requests", type=int, default=150, help="timed requests per shape")
    parser.add_argument("--rounds", type=int, default=5, help="turns the sizes take")
    parser.add_argument(
        "--mongo-uri", help="an existing server (its bench databases are rewritten)"
    )
    parser.add_argument(
        "--data", help="SecantusDB's directory, kept (and its markets reused) across runs"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.mongo_uri:
        asyncio.run(run(args.mongo_uri, sizes, args.requests, args.rounds))
        return
    from rolepulse.devservices import LocalServices

    with ExitStack() as stack:
        data = args.data or stack.enter_context(
            tempfile.TemporaryDirectory(prefix="rolepulse-bench-")
        )
        Path(data).mkdir(parents=True, exist_ok=True)
        services = stack.enter_context(LocalServices.start(mongo_storage=data))
        asyncio.run(run(services.mongo_uri, sizes, args.requests, args.rounds))


if __name__ == "__main__":
    main()
