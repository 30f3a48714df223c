"""Service outages mid-stream, on services private to each test (they get stopped and restarted)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from rolepulse.devservices import LocalServices
from rolepulse.domain.normalize import Normalizer
from rolepulse.settings import KafkaSettings, MongoSettings

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline, PipelineFactory

OUTAGE_S = 30.0
LOADED_S = 120.0  # a bound on waits that pass in seconds on an idle machine
ASSIGNED = "partitions assigned"


@pytest.fixture
async def private(
    tmp_path: Path, normalizer: Normalizer, pipeline_factory: PipelineFactory
) -> AsyncIterator[tuple[LocalServices, Pipeline]]:
    """Services of this test alone; SecantusDB on disk so its data survives a restart."""
    with LocalServices.start(mongo_storage=str(tmp_path / "mongo")) as services:
        kafka = KafkaSettings(
            bootstrap_servers=services.kafka_bootstrap,
            topic="outage.postings",
            dlq_topic="outage.postings.dlq",
            group_id="outage.consumer",
            session_timeout_ms=6000,
            heartbeat_interval_ms=500,
        )
        # Short server selection, so the consumer's retries happen during the outage.
        uri = services.mongo_uri + "&serverSelectionTimeoutMS=2000"
        mongo = MongoSettings(uri=uri, database="outage")
        async with pipeline_factory(kafka, mongo) as pipeline:
            yield services, pipeline


async def test_database_unreachable_for_30s(
    private: tuple[LocalServices, Pipeline], ev: ModuleType
) -> None:
    services, pipeline = private
    stream = ev.market(seed=51, postings=300)
    await pipeline.publish(stream[:150])
    consumer = pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    committed = await pipeline.kafka_committed()
    assert committed == await pipeline.stored_offsets()

    services.mongo.stop()
    down_since = time.monotonic()
    await pipeline.publish(stream[150:])
    while time.monotonic() - down_since < OUTAGE_S:
        assert consumer.alive, consumer.tail()
        assert await pipeline.kafka_committed() == committed, "offsets moved during the outage"
        await asyncio.sleep(2)
    services.mongo.start(60)

    await pipeline.wait_applied(timeout_s=60)
    # The batch in flight was retried until the database came back, not dropped: its latency
    # spans the outage. (pymongo's with_transaction retries with backoff for 120 s before the
    # runner's own backoff loop sees an error, so a 30 s outage never logs "batch stalled".)
    latencies = [float(s) for s in re.findall(r'rejected, ([0-9.]+)s"', consumer.log.read_text())]
    assert max(latencies) > OUTAGE_S - 5, latencies
    assert await pipeline.kafka_committed() == await pipeline.stored_offsets()
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()


async def test_broker_restart_mid_stream(
    private: tuple[LocalServices, Pipeline], ev: ModuleType
) -> None:
    """The broker dies mid-stream and comes back empty; producers publish everything again.

    The local Tansu keeps topics in memory, so its restart loses the topic and the group's
    offsets (a persistent broker would keep both; this is the harder case). What a scraper does on
    reconnect is to recreate the topic and publish its feed again, from the start, plus the events
    it had not sent yet: every event already applied must then count once, and the new ones once.
    """
    services, pipeline = private
    stream = ev.market(seed=61, postings=300)
    await pipeline.publish(stream[:200])
    consumer = pipeline.start_consumer()
    await pipeline.wait_progress(at_least=50, timeout_s=60)

    services.restart_kafka()
    await pipeline.create_topics()
    pipeline.ends.clear()  # a new log: offsets start again at 0
    await pipeline.publish(stream)
    await pipeline.wait_events_applied(timeout_s=90)
    assert consumer.alive, consumer.tail()
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()


@pytest.mark.parametrize("consumer_sees_restart", ["before", "after"])
async def test_broker_restart_then_only_the_remainder_is_republished(
    private: tuple[LocalServices, Pipeline], ev: ModuleType, consumer_sees_restart: str
) -> None:
    """As above, but the scraper republishes only what it had not sent, plus a few repeats.

    The new log starts at offset 0 while the database still holds the old log's next offsets:
    redeliveries are recognised by event id, not offset, so the new log's messages all count.

    Both orders of the race between the consumer and the republish are forced, not left to the
    machine's speed: the consumer rejoins the restarted broker `before` anything is republished
    (as on an idle machine), or it is frozen until `after` (as on a loaded one: its first fetch,
    from its old-log positions, returns new-log messages, and their offsets committed under the
    new membership made it skip the new log's start; consumers/positions.py).
    """
    services, pipeline = private
    stream = ev.market(seed=62, postings=300)
    await pipeline.publish(stream[:200])
    consumer = pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=LOADED_S)
    revoked, assigned = consumer.count_log("partitions revoked"), consumer.count_log(ASSIGNED)

    if consumer_sees_restart == "after":
        consumer.signal(signal.SIGSTOP)
    services.restart_kafka()
    await pipeline.create_topics()
    pipeline.ends.clear()
    if consumer_sees_restart == "before":
        await consumer.wait_log(ASSIGNED, LOADED_S, times=assigned + 1)
    await pipeline.publish([*stream[190:200], *stream[200:]])
    if consumer_sees_restart == "after":
        # A batch it fetches from its old positions before it learns of the new membership is
        # held (database frozen) until its partitions are revoked, as a slow batch is on a
        # loaded machine: its commit then goes out while the group is being rejoined.
        os.kill(services.mongo.pid, signal.SIGSTOP)
        try:
            consumer.signal(signal.SIGCONT)
            await consumer.wait_log("partitions revoked", LOADED_S, times=revoked + 1)
        finally:
            os.kill(services.mongo.pid, signal.SIGCONT)
    await pipeline.wait_events_applied(timeout_s=LOADED_S)
    assert consumer.alive, consumer.tail()
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()
