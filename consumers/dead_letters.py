"""Publish rejected messages to the dead-letter topic: original bytes, reason in headers.

A dead letter must fit the topic, or the batch behind it waits forever: a message up to the
size decode accepts (1 MB, under a default broker's limit) is sent whole; a larger one is cut
to its first 64 KB, with its original size and sha256 in headers. The `rejects` collection keeps
the first 64 KB as well (consumers/store.py), so the bytes past them are not kept anywhere; the
hash tells whether a copy found elsewhere is the same message. If the broker still refuses a
dead letter as too large (a topic with a smaller limit), it is cut to 1 KB and sent again, and
failing that, logged: the size errors are never retried, since they cannot succeed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka.errors import MessageSizeTooLargeError, RecordListTooLargeError

from rolepulse.consumers.decode import MAX_MESSAGE_BYTES
from rolepulse.consumers.store import Delivered

log = logging.getLogger("rolepulse.consumer")

MAX_WHOLE_BYTES = MAX_MESSAGE_BYTES
TRUNCATED_BYTES = 64 * 1024
LAST_RESORT_BYTES = 1024
# Producer errors of one message that no retry can cure, unlike an unreachable broker.
NEVER_FITS = (MessageSizeTooLargeError, RecordListTooLargeError)

Header = tuple[str, bytes]


def dead_letter(
    m: Delivered, whole_up_to: int = MAX_WHOLE_BYTES, cut_to: int = TRUNCATED_BYTES
) -> tuple[bytes | None, list[Header]]:
    """The body and headers of `m`'s dead letter: bytes over `whole_up_to` are cut to `cut_to`."""
    raw = m.raw
    size = len(raw or b"")
    truncated = raw is not None and size > whole_up_to
    headers = [
        ("reason", (m.reject_reason or "").encode("utf-8", "backslashreplace")),
        ("source_topic", m.topic.encode()),
        ("source_partition", str(m.partition).encode()),
        ("source_offset", str(m.offset).encode()),
        ("original_size", str(size).encode()),
        ("sha256", hashlib.sha256(raw or b"").hexdigest().encode()),
        ("truncated", b"true" if truncated else b"false"),
    ]
    return (raw[:cut_to] if truncated and raw is not None else raw), headers


class DeadLetters:
    def __init__(self, producer: Any, topic: str) -> None:
        self._producer = producer  # aiokafka.AIOKafkaProducer (untyped library)
        self._topic = topic

    async def publish(self, rejected: Sequence[tuple[Delivered, bytes | None]]) -> None:
        """Send every message and wait for all acks; raises if the broker is unreachable.

        The caller commits offsets only after this returns, so a rejected message is never lost:
        at worst a crash between the two repeats it on the dead-letter topic.
        """
        # send() only queues a message; the acks are awaited after all are queued, so a batch's
        # dead letters cost one round trip.
        queued = [(m, await self._queue(m, key)) for m, key in rejected]
        for m, ack in queued:
            try:
                await ack
            except NEVER_FITS as exc:
                await self._send_last_resort(m, exc)

    async def _queue(
        self, m: Delivered, key: bytes | None, limit: int | None = None
    ) -> asyncio.Future[Any]:
        value, headers = dead_letter(m) if limit is None else dead_letter(m, limit, limit)
        try:
            ack: asyncio.Future[Any] = await self._producer.send(
                self._topic, value=value, key=key, headers=headers
            )
        except NEVER_FITS as exc:  # aiokafka checks max_request_size before queueing
            ack = asyncio.get_running_loop().create_future()
            ack.set_exception(exc)
        return ack

    async def _send_last_resort(self, m: Delivered, exc: Exception) -> None:
        where = f"{m.topic}:{m.partition}:{m.offset}"
        log.warning(
            "dead letter of %s too large (%s); cutting it to %d bytes",
            where,
            exc,
            LAST_RESORT_BYTES,
        )
        try:
            # Without the key too: headers name the source message, and a key can be large.
            await (await self._queue(m, None, LAST_RESORT_BYTES))
        except NEVER_FITS as again:
            log.error(
                "dead letter of %s refused even cut (%s); only the `rejects` collection has it",
                where,
                again,
            )
