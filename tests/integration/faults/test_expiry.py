"""Expiry through Kafka: a sweep does not republish what waits in the topic; a late observation
reopens."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline

# A one-day window over three days of postings expires most of this market: over the guard's
# default share, which test_sweep_guard.py covers.
SWEEP = {
    "ROLEPULSE_SWEEPER_EXPIRY_DAYS": "1",
    "ROLEPULSE_SWEEPER_CLOCK": "stream",
    "ROLEPULSE_SWEEPER_MAX_EXPIRE_SHARE": "1",
}


def published(stdout: str) -> int:
    match = re.search(r"published (\d+) expiry events", stdout)
    assert match, stdout
    return int(match.group(1))


async def test_sweeper_expiry_is_idempotent_and_a_late_observation_reopens(
    pipeline: Pipeline, ev: ModuleType
) -> None:
    # First observations spread over three days; stream time is the latest event applied.
    await pipeline.publish(ev.market(seed=41, postings=120, prefix="x", spread=timedelta(days=3)))
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)
    await pipeline.stop_consumers()

    # Two sweeps before a consumer applies the first: the second sees every expiry waiting in
    # the topic and publishes none again.
    runs = [pipeline.cli("sweep", "--once", **SWEEP) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs
    counts = [published(r.stdout) for r in runs]
    assert counts[0] > 0
    assert counts[1] == 0
    assert f"({counts[0]} already published, waiting in the topic)" in runs[1].stdout
    assert await pipeline.db.expiry_published.count_documents({}) == counts[0]

    # A sweeper that died after publishing, before recording: the next sweep publishes again,
    # and the consumer applies each expiry once.
    await pipeline.db.expiry_published.delete_many({})
    rerun = pipeline.cli("sweep", "--once", **SWEEP)
    assert published(rerun.stdout) == counts[0], rerun
    total = 2 * counts[0]
    ours = len(pipeline.published)
    everything = await pipeline.read_topic(pipeline.kafka.topic, ours + total)
    expiries = [m for m in everything if json.loads(m.value)["event_id"].startswith("expiry:")]
    assert len(expiries) == total
    assert len({json.loads(m.value)["event_id"] for m in expiries}) == counts[0]
    pipeline.adopt(expiries)
    pipeline.start_consumer()
    await pipeline.wait_applied(timeout_s=60)

    expired = [d async for d in pipeline.db.postings.find({"closed_reason": "expired"})]
    assert len(expired) == counts[0], "each expired posting closed once"
    assert all(not d["open"] for d in expired)
    again = pipeline.cli("sweep", "--once", **SWEEP)
    assert published(again.stdout) == 0, "an applied expiry is not emitted again"
    assert "waiting in the topic" not in again.stdout
    assert await pipeline.db.expiry_published.count_documents({}) == 0, "records of applied go"

    # A late re-observation, after the sweeper's last look, reopens an expired posting.
    late = expired[0]
    at = late["last_observed_at"] + timedelta(hours=6)
    await pipeline.publish([ev.observed("late-1", late["source_id"], at, title="Prompt Engineer")])
    await pipeline.wait_applied(timeout_s=60)
    reopened = await pipeline.db.postings.find_one({"_id": late["_id"]})
    assert reopened is not None
    assert (reopened["open"], reopened["closed_reason"], reopened["role"]) == (
        True, None, "prompt-engineer",
    )  # fmt: skip
    await pipeline.stop_consumers()
    await pipeline.assert_exactly_once()
