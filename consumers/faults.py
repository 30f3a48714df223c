"""Named steps of a batch, and a hook that can SIGKILL the process at one of them.

The crash tests set ROLEPULSE_CONSUMER_FAULT_KILL_AT to a step; a real SIGKILL (not an
exception) proves that whatever the process had not committed is really lost and redone.
"""

from __future__ import annotations

import os
import signal
from typing import Literal, get_args

Step = Literal[
    "decoded",  # batch decoded and normalized, nothing written
    "dead_lettered",  # rejects acknowledged by the dead-letter topic
    "postings_written",  # inside the transaction: postings and event ids written
    "aggregates_written",  # inside the transaction: aggregates, history and offsets written
    "db_committed",  # transaction committed, Kafka offsets not yet committed
    "kafka_committed",  # Kafka offsets committed
]
STEPS: tuple[str, ...] = get_args(Step)


class Faults:
    def __init__(self, kill_at: str | None = None, on_batch: int = 1) -> None:
        if kill_at is not None and kill_at not in STEPS:
            raise ValueError(f"unknown fault step {kill_at!r}; known: {', '.join(STEPS)}")
        self._kill_at = kill_at
        self._on_batch = on_batch
        self._batch = 0

    def batch_started(self) -> None:
        self._batch += 1

    def reached(self, step: Step) -> None:
        if step == self._kill_at and self._batch == self._on_batch:
            os.kill(os.getpid(), signal.SIGKILL)


NO_FAULTS = Faults()
