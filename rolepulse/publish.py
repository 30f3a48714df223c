"""Publish posting events (JSON lines) to the postings topic, keyed "<source>:<source_id>"."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaProducer

from rolepulse.connections import kafka_client_kwargs, start_kafka_client
from rolepulse.settings import KafkaSettings


def event_key(raw: bytes) -> bytes | None:
    """The posting key of an event, so every event of a posting lands in one partition, in order.

    Lines that are not valid events are still published (unkeyed): the consumer dead-letters
    them with a reason, which is where a scraper's operator looks for them.
    """
    try:
        data = json.loads(raw)
        key = f"{data['source']}:{data['posting']['source_id']}"
    except (ValueError, KeyError, TypeError, RecursionError):  # RecursionError: nested too deep
        return None
    return key.encode()


async def publish_lines(
    lines: Iterable[bytes],
    kafka: KafkaSettings,
    on_sent: Callable[[int], None] | None = None,
) -> dict[int, int]:
    """Publish each non-blank line as one message; returns next offset per partition written."""
    producer = AIOKafkaProducer(
        **kafka_client_kwargs(kafka),
        enable_idempotence=kafka.enable_idempotence,
        acks="all",
        linger_ms=5,
        max_request_size=4 * 1024 * 1024,
    )
    ends: dict[int, int] = {}
    try:
        # Inside the try: a producer that failed to bootstrap still has to be stopped.
        await start_kafka_client(producer, kafka)
        pending: list[asyncio.Future[object]] = []
        for line in lines:
            line = line.strip()
            if not line:
                continue
            pending.append(await producer.send(kafka.topic, value=line, key=event_key(line)))
            if len(pending) >= 5000:
                await _settle(pending, ends, on_sent)
        await _settle(pending, ends, on_sent)
    finally:
        await producer.stop()
    return ends


async def _settle(
    pending: list[asyncio.Future[object]],
    ends: dict[int, int],
    on_sent: Callable[[int], None] | None,
) -> None:
    for meta in await asyncio.gather(*pending):
        partition, offset = meta.partition, meta.offset  # type: ignore[attr-defined]
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    if on_sent is not None:
        on_sent(len(pending))
    pending.clear()
