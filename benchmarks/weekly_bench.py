"""Weekly trends' reads with two years of history: the old read of every weekly document
against the read of the window through the week index (services/weekly_read.py).

    python benchmarks/weekly_bench.py [--weeks 104] [--requests 3] [--rounds 3] [--mongo-uri URI]

Starts its own SecantusDB on disk in a temporary directory (as `rolepulse run` keeps it), unless
`--mongo-uri` names a running server (its `weekly_bench_*` databases are rewritten). Writes
12 roles x `--weeks` weekly documents (1,248 for two years) directly, each holding a role's
counters as the consumer stores them, taken from the seed page's market (the demo market's
events, rolepulse/demo/seed_page.py, through the normalizer and the lifecycle), into two databases:
one indexed by the consumer's `ensure_indexes`, the other without the index's completion marker,
so the API's read model falls back to the old read there (every document, grouped). Then times
the read model's calls behind each trend, the two databases alternated over `--rounds` rounds
(this shared machine's load changes by the minute), and counts the weekly documents each call
fetched (the old read: every stored one, grouped on the server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, monitoring

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rolepulse.consumers.decode import Accepted, decode_message  # noqa: E402
from rolepulse.consumers.store import MongoBatchStore  # noqa: E402
from rolepulse.demo.seed_page import SCENARIOS  # noqa: E402
from rolepulse.domain.aggregates import add_increments, contribution  # noqa: E402
from rolepulse.domain.history import iso_week, week_start, weekly_increments  # noqa: E402
from rolepulse.domain.lifecycle import PostingState, apply, transition_key  # noqa: E402
from rolepulse.domain.normalize import Normalizer  # noqa: E402
from rolepulse.schema.documents import ROLE_WEEKLY_INDEX, WEEK_INDEX_COMPLETE  # noqa: E402
from rolepulse.services.read_model import ROLE_WEEKLY, MongoReadModel  # noqa: E402
from rolepulse.taxonomy import load_taxonomy  # noqa: E402

Doc = dict[str, Any]
SEED = 7  # `rolepulse demo-market`'s
FIRST = datetime(2024, 11, 4, 9, tzinfo=UTC)
A, B = "ai-software-engineer", "ai-product-manager"
MARKET_FIELDS = ("open", "work_mode", "seniority", "salary.n", "salary.sum_mid", "salary.hist_mid")


class Fetched(monitoring.CommandListener):
    """Weekly documents returned to the client (find/getMore batches)."""

    def __init__(self) -> None:
        self.documents = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        pass

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        cursor = event.reply.get("cursor") if event.command_name in ("find", "getMore") else None
        if cursor and str(cursor.get("ns", "")).endswith(f".{ROLE_WEEKLY}"):
            self.documents += len(cursor.get("firstBatch", cursor.get("nextBatch", [])))

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def role_counters() -> dict[str, Doc]:
    """Each role's weekly counters (open, work modes, seniority, salary histograms) in the seed
    page's market, as the consumer's weekly documents hold them (cross-board duplicates are
    counted twice here: the documents' sizes are what matters, 200 - 440 salary values a
    basis)."""
    normalizer = Normalizer(load_taxonomy())
    states: dict[str, PostingState | None] = {}
    for event in SCENARIOS["seed-page"](SEED):
        outcome = decode_message(json.dumps(event).encode(), normalizer)
        if isinstance(outcome, Accepted):
            key = transition_key(outcome.transition)
            states[key] = apply(states.get(key), outcome.transition)
    totals: Counter[tuple[tuple[str, str], str]] = Counter()
    for state in states.values():
        totals.update(contribution(state))
    by_role: dict[str, dict[str, int]] = {}
    for ((kind, role), path), value in totals.items():
        if kind == "role":
            by_role.setdefault(role, {})[path] = value
    return {role: add_increments({}, weekly_increments(inc)) for role, inc in by_role.items()}


async def write_history(client: AsyncMongoClient[Doc], weeks: int) -> int:
    counters = role_counters()
    docs = []
    for role, base in sorted(counters.items()):
        for i in range(weeks):
            at = FIRST + timedelta(weeks=i)
            week = iso_week(at)
            start = datetime.combine(week_start(at), day_time(), UTC)
            keys = {"_id": f"{role}|{week}", "role": role, "week": week, "week_start": start}
            docs.append(base | {"open": int(base.get("open", 0)) + i % 5} | keys)
    for name in ("weekly_bench_indexed", "weekly_bench_scan"):
        await client.drop_database(name)
        await client[name][ROLE_WEEKLY].insert_many(docs)
        await MongoBatchStore(client, name).ensure_indexes()
    await client["weekly_bench_scan"][ROLE_WEEKLY_INDEX].delete_one({"_id": WEEK_INDEX_COMPLETE})
    return len(docs)


def shapes(latest: str) -> dict[str, Callable[[MongoReadModel], Awaitable[Any]]]:
    return {
        "a role's weeklyTrend (12 weeks)": lambda m: m.role_weeks([A], 13),
        "compareRoles, both trends (12 weeks)": lambda m: m.role_weeks([A, B], 13),
        "a role's weeklyTrend (104 weeks)": lambda m: m.role_weeks([A], 105),
        "market.weeklyTrend (12 weeks)": lambda m: m.week_counters(13, MARKET_FIELDS),
        "market.openPositionsChange": lambda m: m.week_counters(2, ("open",), until=latest),
    }


async def run(uri: str, weeks: int, requests: int, rounds: int) -> None:
    fetched = Fetched()
    client: AsyncMongoClient[Doc] = AsyncMongoClient(uri, tz_aware=True, event_listeners=[fetched])
    print(f"writing 12 roles x {weeks} weeks of weekly documents ...", flush=True)
    stored = await write_history(client, weeks)
    models = {
        "before": MongoReadModel(client["weekly_bench_scan"]),
        "after": MongoReadModel(client["weekly_bench_indexed"]),
    }
    latest = iso_week(FIRST + timedelta(weeks=weeks - 1))
    times: dict[tuple[str, str], list[float]] = {}
    docs: dict[tuple[str, str], list[int]] = {}
    for round_ in range(rounds):
        for name, call in shapes(latest).items():
            for side, model in models.items():
                for _ in range(requests):
                    before = fetched.documents
                    started = time.perf_counter()
                    await call(model)
                    times.setdefault((side, name), []).append(time.perf_counter() - started)
                    docs.setdefault((side, name), []).append(fetched.documents - before)
        print(f"  round {round_ + 1} / {rounds} done", flush=True)
    await client.close()
    print(f"\n{stored:,} weekly documents; median per call, {rounds * requests} calls a side\n")
    print("| read | before (every document) | after (the window) | documents fetched after |")
    print("|---|---|---|---|")
    for name in shapes(latest):
        old = statistics.median(times["before", name]) * 1000
        new = statistics.median(times["after", name]) * 1000
        count = statistics.median(docs["after", name])
        print(f"| {name} | {old:,.0f} ms | {new:,.1f} ms | {count:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=104, help="weeks of history per role")
    parser.add_argument("--requests", type=int, default=3, help="calls per shape, side, round")
    parser.add_argument("--rounds", type=int, default=3, help="turns the two sides take")
    parser.add_argument("--mongo-uri", help="an existing server (weekly_bench_* rewritten)")
    args = parser.parse_args()
    if args.mongo_uri:
        asyncio.run(run(args.mongo_uri, args.weeks, args.requests, args.rounds))
        return
    from rolepulse.devservices import LocalServices

    with ExitStack() as stack:
        data = stack.enter_context(tempfile.TemporaryDirectory(prefix="rolepulse-bench-"))
        services = stack.enter_context(LocalServices.start(mongo_storage=data))
        asyncio.run(run(services.mongo_uri, args.weeks, args.requests, args.rounds))


if __name__ == "__main__":
    main()
