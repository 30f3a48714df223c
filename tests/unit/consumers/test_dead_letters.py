"""Dead letters always fit: large ones are cut with size and hash kept; size errors never retry."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from rolepulse.consumers.dead_letters import MAX_WHOLE_BYTES, TRUNCATED_BYTES, DeadLetters
from rolepulse.consumers.store import Delivered


@dataclass
class FakeProducer:
    """Refuses values over `limit` as aiokafka does (before queueing) or as a broker does (ack)."""

    limit: int
    broker_refuses: bool = False
    down: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, topic: str, **kw: Any) -> asyncio.Future[None]:
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        too_large = len(kw["value"] or b"") > self.limit
        if too_large and not self.broker_refuses:
            raise MessageSizeTooLargeError("larger than max_request_size")
        if too_large:
            ack.set_exception(MessageSizeTooLargeError("broker: message too large"))
        elif self.down:
            ack.set_exception(KafkaConnectionError("no broker"))
        else:
            self.sent.append(kw | {"headers": dict(kw["headers"])})
            ack.set_result(None)
        return ack


def reject(raw: bytes) -> Delivered:
    return Delivered("postings", 2, 17, None, "too_large: 5000000 bytes", raw)


async def test_a_message_that_fits_is_sent_whole_with_its_size_and_hash() -> None:
    producer = FakeProducer(limit=4 * 1024 * 1024)
    await DeadLetters(producer, "dlq").publish([(reject(b"{bad"), b"k")])
    [sent] = producer.sent
    assert sent["value"] == b"{bad"
    assert sent["key"] == b"k"
    assert sent["headers"]["truncated"] == b"false"
    assert sent["headers"]["original_size"] == b"4"
    assert sent["headers"]["sha256"] == hashlib.sha256(b"{bad").hexdigest().encode()


async def test_a_message_over_the_limit_is_cut_to_its_first_bytes() -> None:
    raw = bytes(range(256)) * (MAX_WHOLE_BYTES // 256 + 10)
    producer = FakeProducer(limit=4 * 1024 * 1024)
    await DeadLetters(producer, "dlq").publish([(reject(raw), None)])
    [sent] = producer.sent
    assert sent["value"] == raw[:TRUNCATED_BYTES]
    assert sent["headers"]["truncated"] == b"true"
    assert sent["headers"]["original_size"] == str(len(raw)).encode()
    assert sent["headers"]["sha256"] == hashlib.sha256(raw).hexdigest().encode()
    assert sent["headers"]["source_offset"] == b"17"


@pytest.mark.parametrize("broker_refuses", [False, True])
async def test_refused_as_too_large_it_is_cut_harder_never_retried(broker_refuses: bool) -> None:
    producer = FakeProducer(limit=10_000, broker_refuses=broker_refuses)
    await DeadLetters(producer, "dlq").publish(
        [(reject(b"x" * 50_000), b"k"), (reject(b"ok"), None)]
    )
    values = sorted(len(s["value"]) for s in producer.sent)
    assert values == [2, 1024]


async def test_refused_even_cut_it_is_logged_and_skipped() -> None:
    producer = FakeProducer(limit=100)
    await DeadLetters(producer, "dlq").publish([(reject(b"x" * 50_000), None)])
    assert producer.sent == []


async def test_an_unreachable_broker_still_raises_for_the_caller_to_retry() -> None:
    producer = FakeProducer(limit=10_000, down=True)
    with pytest.raises(KafkaConnectionError):
        await DeadLetters(producer, "dlq").publish([(reject(b"x"), None)])
