"""The sweeper process outlives a database outage: a failed pass is logged and retried."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from rolepulse.consumers import sweeper
from rolepulse.settings import KafkaSettings, MongoSettings, SweeperSettings


async def test_a_pass_failing_on_an_unreachable_database_is_retried(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stop = asyncio.Event()
    calls: list[int] = []

    @contextlib.asynccontextmanager
    async def clients(*_: object) -> AsyncIterator[tuple[Any, Any]]:
        yield object(), object()

    async def sweep_once(*_: object) -> sweeper.SweepResult:
        calls.append(1)
        if len(calls) < 3:
            raise ServerSelectionTimeoutError("127.0.0.1:1: connection refused")
        stop.set()
        return sweeper.SweepResult(0)

    monkeypatch.setattr(sweeper, "_clients", clients)
    monkeypatch.setattr(sweeper, "sweep_once", sweep_once)
    settings = SweeperSettings(interval_s=0.01)
    await asyncio.wait_for(
        sweeper.run_sweeper(KafkaSettings(), MongoSettings(), settings, stop), timeout=5
    )
    assert len(calls) == 3
    assert caplog.text.count("sweep failed, retrying") == 2
