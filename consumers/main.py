"""Composition root of the consumer process: builds every client, runs the loop, closes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from rolepulse.connections import kafka_client_kwargs, mongo_client_kwargs, start_kafka_client
from rolepulse.consumers.dead_letters import DeadLetters
from rolepulse.consumers.faults import Faults
from rolepulse.consumers.metrics import ConsumerMetrics
from rolepulse.consumers.positions import PositionGuard
from rolepulse.consumers.runner import LogRebalances, PostingsConsumer
from rolepulse.consumers.store import MongoBatchStore
from rolepulse.consumers.topics import ensure_topics
from rolepulse.domain.normalize import Normalizer
from rolepulse.settings import ConsumerSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

log = logging.getLogger("rolepulse.consumer")
CONSUMER_STOP_TIMEOUT_S = 1.5


async def run_consumer(
    kafka: KafkaSettings,
    mongo: MongoSettings,
    settings: ConsumerSettings,
    stop: asyncio.Event,
) -> PostingsConsumer:
    """Run until `stop` is set; returns the consumer (its stats) after a clean shutdown."""
    normalizer = Normalizer(load_taxonomy())
    await ensure_topics(kafka)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        **mongo_client_kwargs(mongo), tz_aware=True
    )
    producer = AIOKafkaProducer(
        **kafka_client_kwargs(kafka),
        enable_idempotence=kafka.enable_idempotence,
        acks="all",
        # The dead-letter topic takes back whatever the consumer could fetch (up to 4 MB below);
        # at the 1 MB default a 2 MB poison message stalled its partition forever.
        max_request_size=4 * 1024 * 1024,
    )
    consumer = AIOKafkaConsumer(
        **kafka_client_kwargs(kafka),
        group_id=kafka.group_id,
        enable_auto_commit=False,
        # Tansu answers `latest` wrongly (DESIGN.md); a new group starts at the beginning anyway.
        auto_offset_reset="earliest",
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    faults = Faults(settings.fault_kill_at, settings.fault_kill_on_batch)
    metrics = ConsumerMetrics()
    stop_metrics = None
    try:
        if settings.metrics_port is not None:
            stop_metrics = metrics.serve(settings.metrics_host, settings.metrics_port)
        store = MongoBatchStore(client, mongo.database, faults)
        await store.ensure_indexes()
        await start_kafka_client(producer, kafka)
        # The guard keeps offsets of a log the broker lost from being committed or fetched at.
        guarded = PositionGuard(consumer)
        consumer.subscribe([kafka.topic], listener=guarded.listener(LogRebalances()))
        runner = PostingsConsumer(
            guarded,
            store,
            DeadLetters(producer, kafka.dlq_topic),
            normalizer,
            max_batch=settings.max_batch,
            poll_timeout_ms=settings.poll_timeout_ms,
            metrics=metrics,
            faults=faults,
            max_event_skew=timedelta(seconds=settings.max_event_skew_s),
        )
        # Joining the group can wait for a dead member's session to expire: a stop meanwhile
        # must end the process at once, not once the join completes. Not bounded by the
        # bootstrap timeout (that join is a legitimate wait): the producer's start above already
        # failed fast if the broker is silent.
        if not await _unless_stopped(consumer.start(), stop):
            log.info("stopped before consuming")
            return runner
        log.info("consuming %s as group %s", kafka.topic, kafka.group_id)
        await _run_draining(runner, stop, settings.drain_timeout_s)
        return runner
    finally:
        # A consumer stopped in the middle of a group join waits for the join to finish (up to
        # a session timeout) before it can leave; the broker expires an unjoined member anyway.
        try:
            await asyncio.wait_for(consumer.stop(), CONSUMER_STOP_TIMEOUT_S)
        except TimeoutError:
            log.warning("consumer did not leave its group within %.1fs", CONSUMER_STOP_TIMEOUT_S)
        await producer.stop()
        await client.close()
        if stop_metrics is not None:
            stop_metrics()


async def _unless_stopped(step: Awaitable[None], stop: asyncio.Event) -> bool:
    """Await ``step`` unless ``stop`` is set first (then cancel it); True if it completed."""
    task = asyncio.ensure_future(step)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False


async def _run_draining(runner: PostingsConsumer, stop: asyncio.Event, drain_s: float) -> None:
    """Run until stopped; past `drain_s` after the stop, cancel the batch in flight.

    Cancelling is safe at any point: an uncommitted transaction leaves nothing behind, and a
    committed one is skipped when its messages are redelivered.
    """
    task = asyncio.create_task(runner.run(stop))
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        done, _ = await asyncio.wait({task}, timeout=drain_s)
        if not done:
            log.warning("batch did not drain within %.1fs; cancelling it uncommitted", drain_s)
            task.cancel()
    stopped.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
