"""Ingest: the project's consumer against a raw Kafka -> MongoDB baseline, same servers, same run.

    python benchmarks/ingest_bench.py [--sizes 10000,50000] [--window 10000]
                                      [--mode throughput,reobserve | freshness]
    python benchmarks/ingest_bench.py --sizes 10000,200000,1000000 --window 10000   # long

Starts its own Tansu + SecantusDB (fresh; the database in a temporary directory: in memory it
fails near a million documents) and publishes one topic (4 partitions) of synthetic, distinct
postings (benchmarks/bench_events.py). The store is filled up to each size
in `--sizes`; there the stream holds a window of `--window` new postings (mode `throughput`)
and/or a window of re-observations of stored postings (`reobserve`: the same postings again,
later). Then, over that same topic:
- **raw**: an aiokafka group consumer (new group, earliest) that `insert_many`s the unchanged
  JSON documents into a scratch collection, batches of 2,000, committing after each;
- **consumer**: `consumers.main.run_consumer` with default ConsumerSettings, a new group and an
  empty database, until `rolepulse.catchup.wait_consumed` says every offset is applied.
Each window's rate is (events applied) / (time) between the samples where the applied count
crossed its start and end; applied counts are sampled every 50 ms from the consumer's offsets.

The store is preloaded by the consumer itself (the events before a window): writing documents
directly would bypass the code under test and tie the benchmark to store internals that change.
So the preload takes as long as the consumer needs, and its rate is printed too.

Writes per event: `serverStatus` opcounters (insert + update + delete) over the consumer's run,
and the write statements the driver sent (documents inserted, update and delete statements, as
mongod's opcounters count them). SecantusDB 0.7.0b3 counts one per *command*: an insert_many of
2,000 documents or a bulk_write of 500 updates adds 1, so its figure is commands per event.

`--mode freshness` runs `rolepulse consume` and `rolepulse serve` as processes, publishes at
`--rate` events/s for `--seconds`, and every `--probe-every`th event is a probe (the only
`prompt-engineer` posting, all in partition 0 so they apply in order). A client asks the API
`{ role(slug: "prompt-engineer") { openPositions } }` continuously; probe n is visible when that
count first reaches n. Prints p50/p99/max of publish-to-visible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient, monitoring

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_events import stream  # noqa: E402
from benchmarks.freshness import measure_freshness  # noqa: E402
from rolepulse.settings import KafkaSettings, MongoSettings  # noqa: E402

RAW_BATCH = 2_000
SAMPLE_S = 0.05
WRITE_FIELDS = {"insert": "documents", "update": "updates", "delete": "deletes"}


class WriteStatements(monitoring.CommandListener):
    """Write statements sent per database, counted the way mongod's opcounters count them."""

    def __init__(self) -> None:
        self.by_database: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in WRITE_FIELDS:
            self.by_database[event.database_name] += len(event.command.get(WRITE_FIELDS[name], ()))
        elif name == "findAndModify":
            self.by_database[event.database_name] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@dataclass
class Run:
    """Samples of one run: (seconds since start, events applied, write statements sent)."""

    samples: list[tuple[float, int, int]] = field(default_factory=list)
    opcounters: dict[str, int] = field(default_factory=dict)  # serverStatus deltas

    def window(self, start: int, end: int) -> tuple[float, float] | None:
        """Events/s and write statements per event between the crossings of start and end."""
        first = next((s for s in self.samples if s[1] >= start), None)
        last = next((s for s in self.samples if s[1] >= end), None)
        if first is None or last is None or last[1] <= first[1] or last[0] <= first[0]:
            return None
        events = last[1] - first[1]
        return events / (last[0] - first[0]), (last[2] - first[2]) / events

    def total(self) -> tuple[int, float]:
        active = [s for s in self.samples if s[1] > 0]
        return self.samples[-1][1], self.samples[-1][0] - (active[0][0] if active else 0.0)


async def opcounters(client: AsyncMongoClient[dict[str, Any]]) -> dict[str, int]:
    status = await client.admin.command("serverStatus")
    counters = status.get("opcounters", {})
    return {k: int(counters.get(k, 0)) for k in ("insert", "update", "delete")}


async def publish(kafka: KafkaSettings, events: list[bytes]) -> dict[int, int]:
    from rolepulse.consumers.topics import ensure_topics
    from rolepulse.publish import publish_lines

    await ensure_topics(kafka)
    return await publish_lines(events, kafka)


async def raw_baseline(
    kafka: KafkaSettings, mongo: MongoSettings, total: int, writes: WriteStatements
) -> Run:
    from aiokafka import AIOKafkaConsumer

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri)
    scratch = client[mongo.database]["raw_postings"]
    consumer = AIOKafkaConsumer(
        kafka.topic,
        bootstrap_servers=kafka.bootstrap_servers,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
    )
    run, done, started = Run(), 0, time.monotonic()
    before = await opcounters(client)
    await consumer.start()
    try:
        pending: list[dict[str, Any]] = []
        while done < total:
            batches = await consumer.getmany(timeout_ms=500, max_records=RAW_BATCH - len(pending))
            pending += [json.loads(m.value) for msgs in batches.values() for m in msgs if m.value]
            if len(pending) >= RAW_BATCH or (pending and done + len(pending) >= total):
                await scratch.insert_many(pending)
                await consumer.commit()
                done += len(pending)
                pending = []
                run.samples.append(
                    (time.monotonic() - started, done, writes.by_database[mongo.database])
                )
    finally:
        await consumer.stop()
    after = await opcounters(client)
    run.opcounters = {k: after[k] - before[k] for k in after}
    await client.close()
    return run


async def project_consumer(
    kafka: KafkaSettings,
    mongo: MongoSettings,
    ends: dict[int, int],
    writes: WriteStatements,
    timeout_s: float,
) -> Run:
    from rolepulse.catchup import _applied, wait_consumed  # the offsets wait_consumed reads
    from rolepulse.consumers.main import run_consumer
    from rolepulse.settings import ConsumerSettings

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo.uri)
    run, started = Run(), time.monotonic()
    before = await opcounters(client)
    stop = asyncio.Event()
    task = asyncio.create_task(run_consumer(kafka, mongo, ConsumerSettings(), stop))
    done = asyncio.Event()

    async def sample() -> None:
        while not done.is_set():
            applied = await _applied(client, mongo.database, kafka.topic, ends)
            statements = writes.by_database[mongo.database]
            run.samples.append((time.monotonic() - started, applied, statements))
            await asyncio.sleep(SAMPLE_S)

    sampler = asyncio.create_task(sample())
    total = sum(ends.values())

    shown = [-1]
    end = "\r" if sys.stderr.isatty() else "\n"

    def progress(applied: int, _: int) -> None:
        if applied != shown[0]:
            shown[0] = applied
            print(f"  consumer: {applied:,}/{total:,}", end=end, file=sys.stderr, flush=True)

    try:
        waiting = asyncio.create_task(wait_consumed(mongo, kafka.topic, ends, timeout_s, progress))
        await asyncio.wait({waiting, task}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            raise RuntimeError(f"the consumer stopped: {task.result()!r}")
        waiting.result()
        done.set()
        await sampler
        run.samples.append((time.monotonic() - started, total, writes.by_database[mongo.database]))
        print(file=sys.stderr)
    finally:
        done.set()
        stop.set()
        await asyncio.wait_for(task, timeout=60)
    after = await opcounters(client)
    run.opcounters = {k: after[k] - before[k] for k in after}
    await client.close()
    return run


def report(windows: list[tuple[str, int, int, int]], raw: Run, ours: Run) -> None:
    print()
    head = f"{'mode':<10}{'stored':>10}{'window':>8}{'consumer ev/s':>15}{'raw ev/s':>10}"
    print(head + f"{'ratio':>7}{'stmts/ev':>10}{'raw stmts/ev':>14}")
    rates: dict[str, list[float]] = {}
    for mode, stored, start, end in windows:
        mine, base = ours.window(start, end), raw.window(start, end)
        if mine is None or base is None:
            print(f"{mode:<10}{stored:>10,}{end - start:>8,}   (too few samples in the window)")
            continue
        rates.setdefault(mode, []).append(mine[0])
        print(
            f"{mode:<10}{stored:>10,}{end - start:>8,}{mine[0]:>15,.0f}{base[0]:>10,.0f}"
            f"{mine[0] / base[0]:>7.3f}{mine[1]:>10.2f}{base[1]:>14.2f}"
        )
    print()
    for mode, seen in rates.items():
        if len(seen) > 1:
            print(f"{mode}: rate at the largest store / at the smallest = {seen[-1] / seen[0]:.3f}")
    print(
        "stmts/ev: write statements the driver sent per event (documents inserted + update and"
        " delete statements: what mongod's opcounters count)"
    )
    for name, run in (("project consumer", ours), ("raw baseline", raw)):
        events, seconds = run.total()
        ops = run.opcounters
        writes = ops.get("insert", 0) + ops.get("update", 0) + ops.get("delete", 0)
        print(
            f"{name}: {events:,} events in {seconds:.1f}s = {events / seconds:,.0f} ev/s overall; "
            f"serverStatus opcounters {ops} = {writes / events:.3f} per event; "
            f"driver write statements {run.samples[-1][2] / events:.3f} per event"
        )


async def throughput(args: argparse.Namespace, kafka: KafkaSettings, mongo_uri: str) -> None:
    writes = WriteStatements()
    monitoring.register(writes)  # every client made from now on reports its commands
    windows, events = stream(args.seed, args.sizes, args.window, set(args.mode))
    started = time.monotonic()
    lines = list(events)
    print(f"generated {len(lines):,} events in {time.monotonic() - started:.1f}s", flush=True)
    started = time.monotonic()
    ends = await publish(kafka, lines)
    published = len(lines) / (time.monotonic() - started)
    print(f"published at {published:,.0f} ev/s; raw baseline ...", flush=True)
    del lines
    total = sum(ends.values())
    raw_mongo = MongoSettings(uri=mongo_uri, database="bench_raw")
    raw = await raw_baseline(kafka, raw_mongo, total, writes)
    print(f"raw baseline: {total:,} events in {raw.total()[1]:.1f}s; project consumer ...")
    ours = await project_consumer(
        kafka, MongoSettings(uri=mongo_uri, database="bench"), ends, writes, args.timeout
    )
    report(windows, raw, ours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,50000", help="store sizes, comma-separated")
    parser.add_argument("--window", type=int, default=10_000, help="events timed at each size")
    parser.add_argument("--mode", default="throughput,reobserve", help="or: freshness")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for the consumer")
    parser.add_argument("--rate", type=float, default=1000.0, help="freshness: events/s")
    parser.add_argument("--seconds", type=float, default=30.0, help="freshness: duration")
    parser.add_argument("--probe-every", type=int, default=100, help="freshness: probe spacing")
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.mode = args.mode.split(",")
    if not set(args.mode) <= {"throughput", "reobserve", "freshness"}:
        parser.error("--mode: throughput, reobserve (comma-separated) or freshness")
    if args.window > min(args.sizes):
        parser.error("--window must not exceed the smallest size (it re-observes stored ones)")

    from rolepulse.devservices import LocalServices

    # On disk, not in memory: SecantusDB's in-memory store fails inserts with "internal
    # server error" once it holds about a million documents (seen with the 1M size).
    with (
        tempfile.TemporaryDirectory(prefix="rolepulse-bench-") as data,
        LocalServices.start(mongo_storage=data) as services,
    ):
        kafka = KafkaSettings(
            bootstrap_servers=services.kafka_bootstrap,
            topic=f"bench-{uuid.uuid4().hex[:8]}",
            dlq_topic=f"bench-{uuid.uuid4().hex[:8]}.dlq",
            group_id=f"bench-consumer-{uuid.uuid4().hex[:8]}",
            # Small timeouts: Tansu makes a group join wait about session_timeout / 2.
            session_timeout_ms=6_000,
            heartbeat_interval_ms=500,
        )
        if "freshness" in args.mode:
            asyncio.run(measure_freshness(args, kafka, services.mongo_uri, services.run_dir))
        else:
            asyncio.run(throughput(args, kafka, services.mongo_uri))


if __name__ == "__main__":
    main()
