"""SIGKILL of a consumer process at every step of a batch, then a clean consumer finishes."""

from __future__ import annotations

import signal
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from rolepulse.consumers.faults import STEPS

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline

BATCH = 50  # ROLEPULSE_CONSUMER_MAX_BATCH of the harness
BEFORE_DB_COMMIT = {"decoded", "dead_lettered", "postings_written", "aggregates_written"}


@pytest.mark.parametrize("step", STEPS)
async def test_sigkill_at_a_step_of_batch_two(
    step: str, pipeline: Pipeline, ev: ModuleType
) -> None:
    poison = ev.poison()
    await pipeline.publish([*ev.market(seed=11, postings=180), poison["invalid_json"]])
    assert sum(pipeline.ends.values()) >= 4 * BATCH, "the stream must span several batches"

    doomed = pipeline.start_consumer(
        ROLEPULSE_CONSUMER_FAULT_KILL_AT=step, ROLEPULSE_CONSUMER_FAULT_KILL_ON_BATCH="2"
    )
    code = await doomed.exit_code(timeout_s=60)
    assert code == -signal.SIGKILL, f"the fault did not fire at {step}:\n{doomed.tail()}"

    # What survived the kill: batch 1 always, batch 2 only once its transaction committed.
    durable = await pipeline.applied_count()
    if step in BEFORE_DB_COMMIT:
        assert 1 <= durable <= BATCH
    else:
        assert BATCH < durable <= 2 * BATCH or durable == sum(pipeline.ends.values())
    kafka = await pipeline.kafka_committed()
    stored = await pipeline.stored_offsets()
    if step == "kafka_committed":
        assert kafka == stored
    elif step == "db_committed":
        assert kafka != stored, "Kafka offsets were committed before the step that precedes it"

    pipeline.start_consumer()
    # A transaction left open by the killed process holds its documents until the server reaps
    # it (60 s idle, as mongod's transactionLifetimeLimitSeconds): the successor waits that long.
    await pipeline.wait_applied(timeout_s=150)
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()
