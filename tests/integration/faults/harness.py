"""Harness of the fault tests: consumer processes, publishing, bounded waits, the final check.

Every fault test ends with `Pipeline.assert_exactly_once`: `verify` finds no difference, the
stored figures equal rolepulse/reference.py's computation over every message published, every
valid event id was applied once and every poison message was rejected once.

Loaded by conftest.py from its file (pytest's importlib mode makes sibling modules unimportable
by name); test modules import its types under TYPE_CHECKING only, for annotations.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure

from rolepulse.consumers.store import applied_event_ids
from rolepulse.consumers.topics import ensure_topics
from rolepulse.consumers.verify import aggregate_differences
from rolepulse.domain.aggregates import BASES, salary_stats, top_counts
from rolepulse.domain.normalize import Normalizer
from rolepulse.publish import publish_lines
from rolepulse.reference import Figures, expected
from rolepulse.settings import KafkaSettings, MongoSettings

Doc = dict[str, Any]
POLL_S = 0.2


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout_s: float, what: Callable[[], str]
) -> None:
    """Poll `check` until true; fail after `timeout_s` naming what did not happen."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s:.0f}s: {what()}")
        await asyncio.sleep(POLL_S)


@dataclass
class ConsumerProcess:
    """One `rolepulse consume` child process; its stderr (JSON logs) goes to `log`."""

    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.alive:
            self.proc.send_signal(sig)

    async def exit_code(self, timeout_s: float) -> int:
        """Wait (bounded) for the process to end; its exit code (negative: killed by signal)."""
        deadline = time.monotonic() + timeout_s
        while (code := self.proc.poll()) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"consumer {self.proc.pid} still running after {timeout_s}s")
            await asyncio.sleep(0.05)
        return code

    async def wait_log(self, text: str, timeout_s: float, times: int = 1) -> None:
        """Until the process has logged `text` (e.g. "partitions assigned") `times` times."""

        async def logged() -> bool:
            return self.count_log(text) >= times

        what = f"{text!r} {times}x in the log of {self.proc.pid}"
        await eventually(logged, timeout_s, lambda: what)

    def count_log(self, text: str) -> int:
        return self.log.read_text(errors="replace").count(text)

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Pipeline:
    """One test's topic, database and consumer processes, plus every message it published."""

    def __init__(
        self, kafka: KafkaSettings, mongo: MongoSettings, workdir: Path, normalizer: Normalizer
    ) -> None:
        self.kafka = kafka
        self.mongo = mongo
        self.workdir = workdir
        self.normalizer = normalizer
        self.published: list[bytes | None] = []  # in publish order, duplicates included
        self.ends: dict[int, int] = {}  # next offset per partition of what was published
        self.consumers: list[ConsumerProcess] = []
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(mongo.uri, tz_aware=True)
        self.db: AsyncDatabase[Doc] = self._client[mongo.database]

    def env(self, **extra: str) -> dict[str, str]:
        k, m = self.kafka, self.mongo
        return (
            os.environ
            | {
                "ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS": k.bootstrap_servers,
                "ROLEPULSE_KAFKA_TOPIC": k.topic,
                "ROLEPULSE_KAFKA_DLQ_TOPIC": k.dlq_topic,
                "ROLEPULSE_KAFKA_GROUP_ID": k.group_id,
                "ROLEPULSE_KAFKA_PARTITIONS": str(k.partitions),
                "ROLEPULSE_KAFKA_SESSION_TIMEOUT_MS": str(k.session_timeout_ms),
                "ROLEPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": str(k.heartbeat_interval_ms),
                "ROLEPULSE_MONGO_URI": m.uri,
                "ROLEPULSE_MONGO_DATABASE": m.database,
                "ROLEPULSE_CONSUMER_MAX_BATCH": "50",
                "ROLEPULSE_CONSUMER_POLL_TIMEOUT_MS": "200",
            }
            | extra
        )

    def start_consumer(self, **extra_env: str) -> ConsumerProcess:
        log = self.workdir / f"consumer-{len(self.consumers)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "rolepulse", "consume"],
                env=self.env(**extra_env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        consumer = ConsumerProcess(proc, log)
        self.consumers.append(consumer)
        return consumer

    def cli(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rolepulse", *args],
            env=self.env(**extra_env), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    async def create_topics(self) -> None:
        await ensure_topics(self.kafka)

    async def publish(self, lines: Sequence[bytes]) -> dict[int, int]:
        """Publish keyed by posting (as scrapers do); returns next offsets of this call."""
        ends = await publish_lines(lines, self.kafka)
        self._record(lines, ends)
        return ends

    async def publish_to(self, partition: int, raws: Sequence[bytes | None]) -> None:
        """Publish unkeyed to one partition: a duplicate landing where its posting does not."""
        producer = AIOKafkaProducer(
            bootstrap_servers=self.kafka.bootstrap_servers, max_request_size=4 * 1024 * 1024
        )
        await producer.start()
        try:
            ends: dict[int, int] = {}
            for raw in raws:
                meta = await producer.send_and_wait(self.kafka.topic, raw, partition=partition)
                ends[partition] = meta.offset + 1
        finally:
            await producer.stop()
        self._record(raws, ends)

    def _record(self, raws: Sequence[bytes | None], ends: dict[int, int]) -> None:
        self.published.extend(r.strip() if r is not None else None for r in raws)
        for p, end in ends.items():
            self.ends[p] = max(self.ends.get(p, 0), end)

    def adopt(self, records: Sequence[Any]) -> None:
        """Count messages another process published (e.g. the sweeper's) as published."""
        self.published.extend(r.value for r in records)
        for r in records:
            self.ends[r.partition] = max(self.ends.get(r.partition, 0), r.offset + 1)

    async def read_topic(self, topic: str, count: int) -> list[Any]:
        """The first `count` messages of `topic`, read without a group (bounded)."""
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.kafka.bootstrap_servers,
            group_id=None,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=8 * 1024 * 1024,
        )
        await consumer.start()
        out: list[Any] = []
        try:
            async with asyncio.timeout(30):
                while len(out) < count:
                    for msgs in (await consumer.getmany(timeout_ms=300)).values():
                        out.extend(msgs)
        except TimeoutError:
            raise AssertionError(f"read {len(out)} of {count} messages of {topic} in 30s") from None
        finally:
            await consumer.stop()
        return out

    async def stored_offsets(self) -> dict[int, int]:
        cursor = self.db.consumer_offsets.find({"topic": self.kafka.topic})
        return {int(d["partition"]): int(d["next_offset"]) async for d in cursor}

    async def applied_count(self) -> int:
        stored = await self.stored_offsets()
        return sum(min(stored.get(p, 0), end) for p, end in self.ends.items())

    async def wait_applied(self, timeout_s: float = 60) -> None:
        """Until the database offsets reach everything published (or a consumer died)."""

        async def done() -> bool:
            for c in self.consumers:
                code = c.proc.poll()
                assert code in (None, 0, -signal.SIGKILL), f"consumer exit {code}:\n{c.tail()}"
            return await self.applied_count() >= sum(self.ends.values())

        total = sum(self.ends.values())
        await eventually(done, timeout_s, lambda: f"applied only part of {total} messages")

    async def wait_events_applied(self, timeout_s: float = 60) -> None:
        """Until every event the reference applies is recorded as applied.

        For a log that restarted at offset 0, where stored offsets say nothing about the new log.
        """
        want = expected(self.published, self.normalizer).applied_event_ids

        async def done() -> bool:
            return want <= await applied_event_ids(self.db)

        await eventually(done, timeout_s, lambda: f"{len(want)} events applied")

    async def wait_progress(self, at_least: int, timeout_s: float = 60) -> None:
        """Until the database offsets cover at least `at_least` published messages."""

        async def reached() -> bool:
            return await self.applied_count() >= at_least

        await eventually(reached, timeout_s, lambda: f"{at_least} messages applied")

    async def kafka_committed(self) -> dict[int, int]:
        """The group's committed Kafka offsets (-1 or absent: nothing committed)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.kafka.bootstrap_servers)
        await admin.start()
        try:
            tps = [TopicPartition(self.kafka.topic, p) for p in range(self.kafka.partitions)]
            got = await admin.list_consumer_group_offsets(self.kafka.group_id, partitions=tps)
            return {tp.partition: meta.offset for tp, meta in got.items() if meta.offset >= 0}
        finally:
            await admin.close()

    async def stop_consumers(self, timeout_s: float = 15) -> None:
        for c in self.consumers:
            c.signal(signal.SIGTERM)
        for c in self.consumers:
            code = await c.exit_code(timeout_s)
            assert code in (0, -signal.SIGKILL), f"consumer exited {code}:\n{c.tail()}"

    async def assert_exactly_once(self) -> None:
        """verify clean; figures, applied events and rejects equal the reference's."""
        ref = expected(self.published, self.normalizer)
        # This module is not assertion-rewritten (loaded by file), so messages carry the detail.
        differences = await aggregate_differences(self.db)
        assert differences == [], "verify: " + "\n".join(differences[:20])
        figures = await stored_figures(self.db)
        assert figures == ref.figures, _first_difference(figures, ref.figures)
        applied = await applied_event_ids(self.db)
        lost, extra = ref.applied_event_ids - applied, applied - ref.applied_event_ids
        assert not lost, f"{len(lost)} events never applied, e.g. {sorted(lost)[:5]}"
        assert not extra, f"{len(extra)} unexpected events applied, e.g. {sorted(extra)[:5]}"
        stored_open = {d["_id"]: d["open"] async for d in self.db.postings.find({}, {"open": 1})}
        assert stored_open == ref.open_by_key, _first_difference(stored_open, ref.open_by_key)
        assert await self.db.rejects.count_documents({}) == ref.rejected_messages

    def kill_all(self) -> None:
        for c in self.consumers:
            c.signal(signal.SIGKILL)
            c.proc.wait(10)

    async def close(self) -> None:
        # A consumer killed inside a transaction leaves it open until the server reaps it (60 s),
        # and SecantusDB's dropDatabase spins on it meanwhile: end such sessions first.
        with contextlib.suppress(ConnectionFailure):  # e.g. a test that failed mid-outage
            await self._client.admin.command("killAllSessions", [])
        await self._client.close()


PipelineFactory = Callable[[KafkaSettings, MongoSettings], AbstractAsyncContextManager[Pipeline]]


def _first_difference(have: Any, want: Any, path: str = "") -> str:
    """Where two nested dicts first differ, for a readable failure."""
    if isinstance(have, dict) and isinstance(want, dict):
        for key in sorted(set(have) | set(want), key=str):
            if have.get(key) != want.get(key):
                return _first_difference(have.get(key), want.get(key), f"{path}/{key}")
    return f"{path or '/'}: stored {have!r}, reference {want!r}"


async def stored_figures(db: AsyncDatabase[Doc]) -> Figures:
    """The stored aggregates read back in rolepulse.reference's shape (zero counters dropped)."""
    market = await db.market_aggregates.find_one({"_id": "market"}) or {}
    roles = {}
    async for doc in db.role_aggregates.find({}):
        if int(doc.get("open", 0)) > 0:
            roles[str(doc["_id"])] = role_figures(doc)
    return {
        "market": {
            "seen": int(market.get("seen", 0)),
            "open_total": int(market.get("open_total", 0)),
            "open_ai": int(market.get("open_ai", 0)),
            "roles": dict(sorted(_counts(market.get("roles")).items())),
        },
        "roles": dict(sorted(roles.items())),
    }


def _counts(raw: Any) -> dict[str, int]:
    return dict(sorted(top_counts(raw, limit=10_000)))


def role_figures(doc: Doc) -> Figures:
    """A role aggregate (or weekly) document's counters as rolepulse.reference figures."""
    salary_doc = doc.get("salary") or {}
    salary: Figures = {"n": int(salary_doc.get("n", 0))}
    for basis in BASES:
        s = salary_stats(salary_doc, basis)
        if s.n:
            salary |= {"avg_min": s.avg_min, "avg_max": s.avg_max}
            salary[basis.value] = {
                "p25": s.p25, "median": s.median, "p75": s.p75, "average": s.average,
            }  # fmt: skip
    return {
        "open": int(doc.get("open", 0)),
        "work_mode": _counts(doc.get("work_mode")),
        "seniority": _counts(doc.get("seniority")),
        "skills": _counts(doc.get("skills")),
        "companies": _counts(doc.get("companies")),
        "metros": _counts(doc.get("metros")),
        "salary": salary,
    }
