"""Publish rejected messages to the dead-letter topic: original bytes, reason in headers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from consumers.store import Delivered


class DeadLetters:
    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer  # aiokafka.AIOKafkaProducer (untyped library)
        self._topic = topic

    async def publish(self, rejected: Sequence[tuple[Delivered, bytes | None]]) -> None:
        """Send every message and wait for all acks; raises if any send fails.

        The caller commits offsets only after this returns, so a rejected message is never lost:
        at worst a crash between the two repeats it on the dead-letter topic.
        """
        futures = []
        for m, key in rejected:
            headers = [
                ("reason", (m.reject_reason or "").encode()),
                ("source_topic", m.topic.encode()),
                ("source_partition", str(m.partition).encode()),
                ("source_offset", str(m.offset).encode()),
            ]
            futures.append(
                await self._producer.send(self._topic, value=m.raw, key=key, headers=headers)
            )
        if futures:
            await asyncio.gather(*futures)
