"""The clock and the sweeper cannot wipe the market: the share guard, and verify's sanity checks.

The clock is moved the way a scraper moves it, with events: one per partition, so the stream
clock is ahead whether it is the latest event applied or a watermark over partitions.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING

from aiokafka import AIOKafkaConsumer, TopicPartition

from rolepulse.consumers.verify import sanity_problems

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline

SWEEP = {"ROLEPULSE_SWEEPER_EXPIRY_DAYS": "1", "ROLEPULSE_SWEEPER_CLOCK": "stream"}


def published(stdout: str) -> int:
    match = re.search(r"published (\d+) expiry events", stdout)
    assert match, stdout
    return int(match.group(1))


async def topic_size(pipeline: Pipeline) -> int:
    """Messages in the test's topic: the sum of the partitions' high watermarks."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=pipeline.kafka.bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(pipeline.kafka.topic, p) for p in range(pipeline.kafka.partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # Every fetch response carries the partition's high watermark (DESIGN.md: use it, not
        # end_offsets, on Tansu).
        for _ in range(50):
            await consumer.getmany(timeout_ms=100)
            marks = [consumer.highwater(tp) for tp in tps]
            if all(m is not None for m in marks):
                return sum(m for m in marks if m is not None)
        raise AssertionError("no high watermark for every partition")
    finally:
        await consumer.stop()


async def observed_on_every_partition(pipeline: Pipeline, ev: ModuleType, at: datetime) -> None:
    for p in range(pipeline.kafka.partitions):
        await pipeline.publish_to(p, [ev.observed(f"clock-{p}", f"clock-{p}", at)])


async def test_a_sweep_on_a_clock_far_ahead_is_refused_unless_forced(
    pipeline: Pipeline, ev: ModuleType
) -> None:
    # The market was observed early in November; postings dated today (the wall clock) move the
    # stream clock weeks past it, and a one-day window makes nearly all of it look stale.
    await pipeline.publish(ev.market(seed=43, postings=120, prefix="g", spread=timedelta(days=3)))
    today = datetime.now(UTC)
    assert today - ev.START > timedelta(days=10), "the market must be weeks behind the wall clock"
    await observed_on_every_partition(pipeline, ev, today)
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.stop_consumers()
    before = await topic_size(pipeline)

    refused = pipeline.cli("sweep", "--once", **SWEEP)
    assert refused.returncode == 1, refused
    assert published(refused.stdout) == 0
    assert "sweep refused" in refused.stdout
    assert "limit 20.0%" in refused.stdout
    assert "--force" in refused.stdout
    assert "sweep refused" in refused.stderr, "logged as an error too"
    assert await topic_size(pipeline) == before, "a refused sweep publishes nothing"
    assert await pipeline.db.expiry_published.count_documents({}) == 0

    forced = pipeline.cli("sweep", "--once", "--force", **SWEEP)
    assert forced.returncode == 0, forced
    count = published(forced.stdout)
    assert count > 0
    everything = await pipeline.read_topic(pipeline.kafka.topic, before + count)
    expiries = [m for m in everything if json.loads(m.value)["event_id"].startswith("expiry:")]
    assert len(expiries) == count
    pipeline.adopt(expiries)
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()

    # The recomputation agrees with the wiped market; the sanity check names what emptied it.
    verify = pipeline.cli("verify")
    assert verify.returncode == 1, verify
    assert "0 differences between stored and recomputed aggregates" in verify.stdout
    emptied = [line for line in verify.stdout.splitlines() if "emptied role" in line]
    assert emptied, verify.stdout
    assert all("(forced)" in line for line in emptied)
    assert "llm-engineer" not in verify.stdout, "today's postings keep their role open"


async def test_verify_flags_a_stream_clock_ahead_of_the_wall_clock(
    pipeline: Pipeline, ev: ModuleType
) -> None:
    # Two hours ahead: plausible for the consumer (default skew 24 h), implausible for a verify
    # allowing one hour, so the test needs no event time the consumer would dead-letter.
    ahead = datetime.now(UTC) + timedelta(hours=2)
    await observed_on_every_partition(pipeline, ev, ahead)
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.stop_consumers()

    strict = pipeline.cli("verify", ROLEPULSE_CONSUMER_MAX_EVENT_SKEW_S="3600")
    assert strict.returncode == 1, strict
    assert "0 differences between stored and recomputed aggregates" in strict.stdout
    [problem] = [line for line in strict.stdout.splitlines() if "ahead of the wall clock " in line]
    assert f"stream clock {ahead.isoformat()[:16]}" in problem, problem  # ms-rounded when stored
    assert "(allowed: 1.0 h)" in problem
    assert "1 sanity problems" in strict.stdout

    default = pipeline.cli("verify")
    assert default.returncode == 0, default
    assert "0 sanity problems (stream clock at most 24.0 h ahead" in default.stdout
    assert await sanity_problems(pipeline.db, datetime.now(UTC), timedelta(hours=24)) == []
