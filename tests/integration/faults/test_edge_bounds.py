"""Each kind of message that once stopped a partition for good: dead-lettered, and the rest moves.

Issue 7 names them: JSON nested 10,000 levels, salaries of 1e30 and 1e400, year-9999 times, a
5 MB description whose dead letter did not fit the broker, and lax types the contract forbids.
Each runs through a real `rolepulse consume` process: the bad message sits in partition 0
between valid events of the same batch, other partitions carry more, and the run must end with
the partition's stored offset past everything, the bad message on the dead-letter topic and in
`rejects` with its reason, and every figure equal to the reference computation.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaProducer

from rolepulse.consumers.dead_letters import TRUNCATED_BYTES

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline


def _with(ev: ModuleType, eid: str, **over: Any) -> bytes:
    """A valid observation from events.py with fields replaced (`posting_<f>` in the posting)."""
    body = json.loads(ev.observed(eid, eid, ev.START))
    for key, value in over.items():
        if key.startswith("posting_"):
            body["posting"][key.removeprefix("posting_")] = value
        else:
            body[key] = value
    return json.dumps(body).encode()


def bad_message(ev: ModuleType, kind: str) -> bytes:
    if kind == "nested_10000":
        return b"[" * 10_000 + b"]" * 10_000
    if kind == "salary_1e30":
        return _with(ev, kind, posting_salary={"min": 1e30, "max": 1e30, "currency": "USD"})
    if kind == "salary_1e400":  # json.dumps cannot write it; the parser reads it as Infinity
        return _with(ev, kind, posting_salary={"min": 7, "max": 1e9}).replace(b"7", b"1e400", 1)
    if kind == "occurred_at_9999":
        return _with(ev, kind, occurred_at="9999-12-31T23:00:00-05:00")
    if kind == "posted_at_9999":
        return _with(ev, kind, posting_posted_at="9999-12-31T23:00:00-05:00")
    if kind == "occurred_at_next_week":  # plausible year, but days ahead of every clock
        ahead = datetime.now(UTC) + timedelta(days=7)
        return _with(ev, kind, occurred_at=ahead.isoformat())
    if kind == "description_5mb":
        return _with(ev, kind, posting_description="x" * 5_000_000)
    if kind == "occurred_at_integer":
        return _with(ev, kind, occurred_at=1_793_000_000)
    if kind == "remote_yes":
        return _with(ev, kind, posting_remote="yes")
    raise AssertionError(kind)


REASON_OF_KIND = {
    "nested_10000": "too_deep",
    "salary_1e30": "implausible_salary",
    "salary_1e400": "implausible_salary",
    "occurred_at_9999": "implausible_time",
    "posted_at_9999": "implausible_time",
    "occurred_at_next_week": "implausible_time",
    "description_5mb": "too_large",
    "occurred_at_integer": "invalid_event",
    "remote_yes": "invalid_event",
}


async def publish_large(pipeline: Pipeline, partition: int, raws: list[bytes]) -> None:
    """Publish to one partition with room for a 5 MB message (the harness allows 4 MB)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=pipeline.kafka.bootstrap_servers, max_request_size=8 * 1024 * 1024
    )
    await producer.start()
    try:
        records = []
        for raw in raws:
            meta = await producer.send_and_wait(pipeline.kafka.topic, raw, partition=partition)
            records.append(SimpleNamespace(value=raw, partition=partition, offset=meta.offset))
    finally:
        await producer.stop()
    pipeline.adopt(records)


@pytest.mark.parametrize("kind", list(REASON_OF_KIND))
async def test_a_bad_message_is_dead_lettered_and_its_partition_moves_past_it(
    pipeline: Pipeline, ev: ModuleType, kind: str
) -> None:
    bad = bad_message(ev, kind)
    valid = ev.market(seed=11, postings=30, prefix="v")
    # Consumers poll batches of 50 (harness): the bad message shares one with the events around.
    await publish_large(pipeline, 0, [*valid[:10], bad, *valid[10:20]])
    await pipeline.publish(valid[20:])
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.stop_consumers()

    [dead] = await pipeline.read_topic(pipeline.kafka.dlq_topic, 1)
    headers = dict(dead.headers)
    assert headers["reason"].decode().startswith(REASON_OF_KIND[kind] + ": ")
    assert (headers["source_partition"], headers["source_offset"]) == (b"0", b"10")
    assert headers["original_size"] == str(len(bad)).encode()
    if len(bad) > 1_000_000:  # cut to fit the broker, never retried as an outage
        assert (dead.value, headers["truncated"]) == (bad[:TRUNCATED_BYTES], b"true")
    else:
        assert (dead.value, headers["truncated"]) == (bad, b"false")
    [reject] = [r async for r in pipeline.db.rejects.find({})]
    assert reject["reason"].startswith(REASON_OF_KIND[kind] + ": ")
    assert (reject["partition"], reject["offset"], reject["size"]) == (0, 10, len(bad))
    assert (await pipeline.stored_offsets())[0] == pipeline.ends[0]  # past it and the rest
    await pipeline.assert_exactly_once()
