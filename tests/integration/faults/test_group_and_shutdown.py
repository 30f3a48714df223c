"""Several consumer processes in one group with rebalances mid-stream; SIGTERM drains and exits."""

from __future__ import annotations

import signal
import time
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline

ASSIGNED = "partitions assigned"
BATCH_LOG = '"msg": "batch: '


@pytest.mark.parametrize("members", [2, 3])
async def test_members_join_and_leave_mid_stream(
    members: int, pipeline: Pipeline, ev: ModuleType
) -> None:
    # Published in waves so the stream is still flowing while the group changes shape.
    waves = [ev.market(seed=20 + w, postings=400, prefix=f"w{w}-") for w in range(3)]
    await pipeline.publish(waves[0])
    first = pipeline.start_consumer()
    await pipeline.wait_progress(at_least=1, timeout_s=30)

    joiners = [pipeline.start_consumer() for _ in range(members - 1)]
    await pipeline.publish(waves[1])
    for joiner in joiners:  # each joins, which rebalances the whole group
        await joiner.wait_log(ASSIGNED, timeout_s=30)
    first.signal(signal.SIGTERM)  # a member leaves mid-stream: another rebalance
    await pipeline.publish(waves[2])
    assert await first.exit_code(timeout_s=15) == 0, first.tail()

    await pipeline.wait_applied(timeout_s=120)
    await pipeline.stop_consumers()
    assert first.count_log(BATCH_LOG) > 0
    assert all(j.count_log(BATCH_LOG) > 0 for j in joiners), "a member never got any work"
    await pipeline.assert_exactly_once()


async def test_sigterm_drains_the_batch_commits_and_exits_within_10s(
    pipeline: Pipeline, ev: ModuleType
) -> None:
    await pipeline.publish(ev.market(seed=31, postings=1500))
    total = sum(pipeline.ends.values())
    consumer = pipeline.start_consumer()
    await pipeline.wait_progress(at_least=100, timeout_s=30)

    started = time.monotonic()
    consumer.signal(signal.SIGTERM)
    code = await consumer.exit_code(timeout_s=15)
    elapsed = time.monotonic() - started
    print(f"SIGTERM to exit: {elapsed:.2f}s")  # reported by -s / in the failure output
    assert code == 0, consumer.tail()
    assert elapsed < 10, f"took {elapsed:.1f}s to exit"
    applied = await pipeline.applied_count()
    assert applied < total, "the stream ended before the signal; nothing was in flight"
    # The drained batch is durable and committed to Kafka too: both offsets agree.
    assert await pipeline.kafka_committed() == await pipeline.stored_offsets()

    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=90)
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()
