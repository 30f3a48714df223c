"""Helpers shared by the integration tests: run the real consumer over a list of messages."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest

from rolepulse.catchup import wait_consumed
from rolepulse.consumers.main import run_consumer
from rolepulse.publish import publish_lines
from rolepulse.settings import ConsumerSettings, KafkaSettings, MongoSettings

ConsumeAll = Callable[[KafkaSettings, MongoSettings, Sequence[bytes]], Awaitable[dict[int, int]]]


async def _consume_all(
    kafka: KafkaSettings, mongo: MongoSettings, lines: Sequence[bytes], max_batch: int = 50
) -> dict[int, int]:
    """Publish `lines`, run a consumer until all of them are applied, stop it cleanly."""
    ends = await publish_lines(lines, kafka)
    stop = asyncio.Event()
    settings = ConsumerSettings(max_batch=max_batch)
    task = asyncio.create_task(run_consumer(kafka, mongo, settings, stop))
    try:
        await wait_consumed(mongo, kafka.topic, ends, timeout_s=60)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)
    return ends


@pytest.fixture
def consume_all() -> Callable[..., Awaitable[dict[int, int]]]:
    """`await consume_all(kafka, mongo, lines, max_batch=50)` -> end offsets per partition."""
    return _consume_all
