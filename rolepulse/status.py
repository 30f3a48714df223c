"""`rolepulse status`: what runs where, whether it answers, and how far the consumer is behind.

``gather_status`` asks each service once, concurrently, each within a short timeout (a status
command must answer even when everything is down); ``format_status`` only formats.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from rolepulse.endpoints import Endpoints
from rolepulse.runstate import RunState, pid_alive
from rolepulse.settings import KafkaSettings, MongoSettings, redacted_uri

PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Answer:
    ok: bool
    detail: str  # "answers", or what went wrong


@dataclass(frozen=True)
class StatusReport:
    endpoints: Endpoints
    state_file: str
    state: RunState | None  # the live running system
    stale: RunState | None  # a state file whose `rolepulse run` is gone
    kafka: Answer
    mongo: Answer
    api: Answer | None = None
    processes: list[tuple[str, int, bool]] = field(default_factory=list)  # name, PID, alive
    topic: str = ""
    lag: dict[int, int] | None = None  # partition -> messages not yet applied
    lag_note: str = ""

    @property
    def running(self) -> bool:
        return self.state is not None or self.kafka.ok or self.mongo.ok


def format_status(r: StatusReport) -> list[str]:
    """The report as aligned ``label  value`` lines; the MongoDB URI is redacted."""
    rows: list[tuple[str, str]] = []
    if r.state is not None:
        s = r.state
        rows.append(("rolepulse run", f"PID {s.pid}, since {s.started_at} ({r.state_file})"))
        api = f" ({r.api.detail})" if r.api is not None else ""
        rows.append(("API", f"{s.api_url}{api}"))
        rows.append(("GraphiQL", s.graphiql_url))
    else:
        stale = f"; stale file left by PID {r.stale.pid} ignored" if r.stale else ""
        rows.append(("rolepulse run", f"not running (no live {r.state_file}{stale})"))
    k, m = r.endpoints.kafka, r.endpoints.mongo
    rows.append(("Kafka", f"{k.value}: {r.kafka.detail} ({k.origin})"))
    rows.append(("MongoDB", f"{redacted_uri(m.value)}: {r.mongo.detail} ({m.origin})"))
    if r.processes:
        procs = [f"{name} {pid} {'alive' if up else 'DEAD'}" for name, pid, up in r.processes]
        rows.append(("processes", ", ".join(procs)))
    if r.state is not None:
        data = r.state.data_dir or "in memory: lost when `rolepulse run` stops"
        rows.append(("data", data))
        # One file per process (older state files name only the directory).
        logs = list(r.state.logs.values()) or [r.state.run_dir]
        rows += [("logs" if i == 0 else "", path) for i, path in enumerate(logs)]
    rows.append(("consumer lag", _lag(r)))
    width = max(len(label) for label, _ in rows) + 2
    return [f"{label:<{width}}{value}" for label, value in rows]


def _lag(r: StatusReport) -> str:
    if r.lag is None:
        return f"unknown ({r.lag_note})" if r.lag_note else "unknown"
    parts = ", ".join(f"p{p} {n}" for p, n in sorted(r.lag.items()))
    return f"{r.topic}: {parts} (total {sum(r.lag.values())})"


async def gather_status(
    endpoints: Endpoints,
    state_file: str,
    state: RunState | None,
    stale: RunState | None,
    kafka: KafkaSettings,
    mongo: MongoSettings,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> StatusReport:
    """Probe broker, database and API concurrently, each bounded by ``timeout_s``."""
    applied_task = asyncio.ensure_future(
        _bounded(_applied_offsets(mongo, kafka.topic, timeout_s), timeout_s)
    )
    ends, api = await asyncio.gather(
        # Waits for the applied offsets (at most timeout_s), then reads the log ends.
        _bounded(_log_ends(kafka, applied_task, timeout_s), 2 * timeout_s),
        _bounded(_healthz(state.api_url, timeout_s), timeout_s) if state else _none(),
    )
    applied = await applied_task
    lag, note = _lag_from(ends, applied)
    return StatusReport(
        endpoints=endpoints,
        state_file=state_file,
        state=state,
        stale=stale,
        kafka=_answer(ends),
        mongo=_answer(applied),
        api=_answer(api) if state else None,
        processes=[
            (n, pid, pid_alive(pid)) for n, pid in (state.processes if state else {}).items()
        ],
        topic=kafka.topic,
        lag=lag,
        lag_note=note,
    )


def _answer(result: object) -> Answer:
    if isinstance(result, BaseException):
        return Answer(False, _reason(result))
    return Answer(True, "answers")


def _lag_from(ends: object, applied: object) -> tuple[dict[int, int] | None, str]:
    if isinstance(ends, BaseException) or isinstance(applied, BaseException):
        return None, "needs both the broker and the database"
    if not isinstance(ends, dict) or not isinstance(applied, dict):
        raise TypeError("unexpected offsets")
    if not ends:
        return None, "the topic does not exist yet"
    return {p: end - applied.get(p, 0) for p, end in ends.items()}, ""


def _reason(exc: BaseException) -> str:
    import httpx
    from aiokafka.errors import KafkaConnectionError
    from pymongo.errors import ConnectionFailure

    if isinstance(exc, TimeoutError):
        return "no answer (timed out)"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"answers HTTP {exc.response.status_code}"
    if isinstance(exc, KafkaConnectionError | ConnectionFailure | httpx.TransportError | OSError):
        return "no answer"
    return f"error ({type(exc).__name__})"


async def _bounded(work: Any, timeout_s: float) -> object:
    # A probe that fails is a finding to report, not an error of the status command.
    try:
        return await asyncio.wait_for(work, timeout_s + 0.5)
    except Exception as exc:
        return exc


async def _none() -> None:
    return None


async def _log_ends(
    kafka: KafkaSettings, applied: asyncio.Future[object], timeout_s: float
) -> dict[int, int]:
    """Each partition's log end (high watermark); empty if the topic or the offsets are missing.

    Read from a fetch at the applied offset, not from end_offsets(): Tansu answers ListOffsets
    `latest` wrongly (DESIGN.md), and the fetch response's high watermark is right everywhere.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from rolepulse.connections import kafka_client_kwargs

    consumer = AIOKafkaConsumer(
        **kafka_client_kwargs(kafka),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        request_timeout_ms=int(timeout_s * 1000),
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=64 * 1024,
    )
    try:
        await consumer.start()  # fails here when the broker does not answer
        partitions = consumer.partitions_for_topic(kafka.topic) or set()
        positions = await asyncio.shield(applied)  # gather_status awaits it too
        if not partitions or not isinstance(positions, dict):
            return {}
        tps = [TopicPartition(kafka.topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, positions.get(tp.partition, 0))
        deadline = asyncio.get_running_loop().time() + timeout_s
        while any(consumer.highwater(tp) is None for tp in tps):
            if asyncio.get_running_loop().time() > deadline:
                break
            await consumer.getmany(*tps, timeout_ms=100)
        return {
            tp.partition: int(high) for tp in tps if (high := consumer.highwater(tp)) is not None
        }
    finally:
        await consumer.stop()


async def _applied_offsets(mongo: MongoSettings, topic: str, timeout_s: float) -> dict[int, int]:
    """Next offset per partition as the consumer stored it with its last batch."""
    from pymongo import AsyncMongoClient

    from rolepulse.connections import mongo_client_kwargs

    quick = mongo.model_copy(update={"server_selection_timeout_ms": int(timeout_s * 1000)})
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(**mongo_client_kwargs(quick))
    try:
        cursor = client[mongo.database].consumer_offsets.find({"topic": topic})
        return {int(d["partition"]): int(d["next_offset"]) async for d in cursor}
    finally:
        await client.close()


async def _healthz(api_url: str, timeout_s: float) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=timeout_s) as client:
        response = await client.get(f"{api_url}/healthz")
        response.raise_for_status()
