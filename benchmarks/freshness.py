"""Freshness mode of benchmarks/ingest_bench.py: publish-to-visible in the API at a steady rate.

`rolepulse consume` and `rolepulse serve` run as processes of their own (as deployed), configured
through the environment. Probe events are the only postings of `PROBE_ROLE` and all go to
partition 0, so they are applied in publish order and the role's open count says exactly which
probes are visible.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from benchmarks.bench_events import PROBE_ROLE, posting_event, probe_event
from rolepulse.services.read_model import MongoReadModel
from rolepulse.settings import KafkaSettings

QUERY = {"query": f'{{ role(slug: "{PROBE_ROLE}") {{ openPositions }} }}'}
TICK_S = 0.01
WARMUP_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "rolepulse", *args], env=env, stdout=out, stderr=out
        )


Count = Callable[[], Awaitable[int]]


def _api_count(http: httpx.AsyncClient) -> Count:
    async def count() -> int:
        response = await http.post("/graphql", json=QUERY)
        data = response.json().get("data") or {}
        return int((data.get("role") or {}).get("openPositions", 0))

    return count


def _committed_count(model: MongoReadModel) -> Count:
    """The same figure read straight from the aggregates the consumer commits (no API)."""

    async def count() -> int:
        doc = (await model.roles([PROBE_ROLE])).get(PROBE_ROLE) or {}
        return int(doc.get("open", 0))

    return count


async def measure_freshness(
    args: argparse.Namespace, kafka: KafkaSettings, mongo_uri: str, run_dir: Path
) -> None:
    port = _free_port()
    env = dict(os.environ)
    env.update(
        ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap_servers,
        ROLEPULSE_KAFKA_TOPIC=kafka.topic,
        ROLEPULSE_KAFKA_DLQ_TOPIC=kafka.dlq_topic,
        ROLEPULSE_KAFKA_GROUP_ID=kafka.group_id,
        ROLEPULSE_KAFKA_SESSION_TIMEOUT_MS=str(kafka.session_timeout_ms),
        ROLEPULSE_KAFKA_HEARTBEAT_INTERVAL_MS=str(kafka.heartbeat_interval_ms),
        ROLEPULSE_MONGO_URI=mongo_uri,
        ROLEPULSE_MONGO_DATABASE="bench_fresh",
    )
    procs = [
        _spawn(["consume"], env, run_dir / "consume.log"),
        _spawn(["serve", "--port", str(port)], env, run_dir / "serve.log"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, linger_ms=5)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    try:
        await producer.start()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            counts = {
                "visible in the API": _api_count(http),
                "committed (MongoDB)": _committed_count(MongoReadModel(client["bench_fresh"])),
            }
            lags = await _run(args, kafka, producer, counts)
    finally:
        await producer.stop()
        await client.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    print(f"freshness at {args.rate:,.0f} events/s for {args.seconds:.0f}s, from publish to:")
    for name, seen in lags.items():
        ordered = sorted(seen)
        if not ordered:
            print(f"  {name:<20} no probe seen")
            continue
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        print(
            f"  {name:<20} p50 {statistics.median(ordered) * 1000:6.0f} ms  p99 {p99 * 1000:6.0f}"
            f" ms  max {ordered[-1] * 1000:6.0f} ms  ({len(ordered)} probes)"
        )


async def _run(
    args: argparse.Namespace,
    kafka: KafkaSettings,
    producer: AIOKafkaProducer,
    counts: dict[str, Count],
) -> dict[str, list[float]]:
    """Publish at a steady rate while watching each count; each probe's lag in seconds."""
    position = 0
    # Warm-up: the processes start and the consumer joins its group before the clock runs.
    await producer.send_and_wait(kafka.topic, probe_event(args.seed, 0, 0), partition=0)
    deadline = time.monotonic() + WARMUP_TIMEOUT_S
    while True:
        try:
            if all([await count() >= 1 for count in counts.values()]):
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the warm-up probe never became visible")
        await asyncio.sleep(0.2)

    published: list[float] = []  # publish time of probe n + 1 (probe 0 was the warm-up)
    seen_at: dict[str, dict[int, float]] = {name: {} for name in counts}
    publishing = True

    async def watch(count: Count, seen: dict[int, float]) -> None:
        while publishing or len(seen) < len(published):
            visible = await count() - 1
            now = time.monotonic()
            for n in range(len(seen), min(visible, len(published))):
                seen[n] = now
            if not publishing and time.monotonic() > drain_deadline:
                return
            await asyncio.sleep(0.005)

    drain_deadline = float("inf")
    watchers = [asyncio.create_task(watch(counts[n], seen_at[n])) for n in counts]
    total = int(args.rate * args.seconds)
    started = time.monotonic()
    while position < total:
        due = min(total, int((time.monotonic() - started) * args.rate) + 1)
        while position < due:
            position += 1
            if position % args.probe_every == 0:
                probe = probe_event(args.seed, len(published) + 1, position)
                published.append(time.monotonic())
                await producer.send(kafka.topic, probe, partition=0)
            else:
                await producer.send(kafka.topic, posting_event(args.seed, position, position))
        await asyncio.sleep(TICK_S)
    await producer.flush()
    achieved = total / (time.monotonic() - started)
    behind = len(published) - len(next(iter(seen_at.values())))
    print(f"published {total:,} events at {achieved:,.0f} ev/s; probes not yet visible: {behind}")
    publishing = False
    drain_deadline = time.monotonic() + DRAIN_TIMEOUT_S
    await asyncio.gather(*watchers)
    for name, seen in seen_at.items():
        if len(seen) < len(published):
            late = len(published) - len(seen)
            print(
                f"{name}: {late} probes not seen within {DRAIN_TIMEOUT_S:.0f}s of the last publish"
            )
    return {name: [seen[n] - published[n] for n in sorted(seen)] for name, seen in seen_at.items()}
