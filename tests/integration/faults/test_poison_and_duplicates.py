"""Bad and repeated input: dead-lettered or deduplicated, never blocking or double-counting."""

from __future__ import annotations

import hashlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline

REASON_OF_KIND = {
    "invalid_json": "invalid_json",
    "unknown_version": "unsupported_version",
    "missing_fields": "invalid_event",
    "too_large": "too_large",
    "wrong_types": "invalid_event",
}


async def test_poison_messages_are_dead_lettered_without_blocking(
    pipeline: Pipeline, ev: ModuleType
) -> None:
    poison: dict[str, bytes] = ev.poison()
    valid = ev.market(seed=5, postings=40)
    # All in one partition, each poison message followed by valid events of that partition.
    stream: list[bytes] = []
    for i, raw in enumerate(poison.values()):
        stream += [raw, *valid[i * 8 : (i + 1) * 8]]
    await pipeline.publish_to(0, stream)
    await pipeline.publish(valid[40:])
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.stop_consumers()

    dlq = await pipeline.read_topic(pipeline.kafka.dlq_topic, len(poison))
    # Dead letters over 1 MB are cut to their first 64 KB (with size and hash) so they fit the
    # broker; the others hold the original bytes.
    by_value = {m.value: dict(m.headers) for m in dlq}
    cut = {kind: raw if len(raw) <= 1_000_000 else raw[:65_536] for kind, raw in poison.items()}
    assert set(by_value) == set(cut.values()), "the DLQ holds the (first) bytes of each"
    for kind, raw in poison.items():
        headers = by_value[cut[kind]]
        assert headers["original_size"] == str(len(raw)).encode()
        assert headers["sha256"] == hashlib.sha256(raw).hexdigest().encode()
        assert headers["reason"].decode().startswith(REASON_OF_KIND[kind] + ":"), kind
        assert headers["source_topic"].decode() == pipeline.kafka.topic
        assert headers["source_partition"] == b"0"
    rejects = [r async for r in pipeline.db.rejects.find({}, {"reason": 1, "raw": 1})]
    assert sorted(r["reason"].split(":")[0] for r in rejects) == sorted(REASON_OF_KIND.values())
    await pipeline.assert_exactly_once()


async def test_duplicates_and_reobservations_count_once(pipeline: Pipeline, ev: ModuleType) -> None:
    stream = ev.market(seed=7, postings=150)  # includes repeated deliveries and re-observations
    await pipeline.publish(stream)
    # The same events again: at later offsets of their own partition, and unkeyed in partitions
    # where their posting never lands (a misconfigured producer), in one go with the originals.
    await pipeline.publish(stream[::3])
    await pipeline.publish_to(0, stream[1::5])
    await pipeline.publish_to(1, stream[2::5])
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.assert_exactly_once()

    # Later, after everything was applied: the whole stream once more.
    await pipeline.publish(stream)
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()
