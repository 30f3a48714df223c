"""A JobSpy export end to end: `rolepulse import jobspy` -> Kafka -> consumer -> API figures.

The CLI runs as a process of its own against this test's topic (twice: a re-import publishes
the same event ids, which change nothing); the real consumer applies the events to SecantusDB;
the API answers from what it stored.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from rolepulse.catchup import wait_consumed
from rolepulse.connections import kafka_client_kwargs
from rolepulse.consumers.main import run_consumer
from rolepulse.services.main import build_app
from rolepulse.settings import ApiSettings, ConsumerSettings, KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "jobspy" / "jobs.csv"
IMPORT = (sys.executable, "-m", "rolepulse", "import", "jobspy")
QUERY = """{
  market { openPositions openPostingsAllRoles postingsSeen }
  mle: role(slug: "ai-ml-engineer") {
    openPositions remotePct salary { n avgMin avgMax } topCompanies(limit: 4) { name count }
  }
  llm: role(slug: "llm-engineer") { openPositions salary { n avgMin avgMax } }
  ds: role(slug: "data-scientist") { openPositions remotePct }
  prompt: role(slug: "prompt-engineer") {
    openPositions salary { n avgMin } topCompanies(limit: 4) { name count }
  }
}"""


def import_file(kafka: KafkaSettings, observed_at: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ROLEPULSE_KAFKA_TOPIC": kafka.topic,
    }
    return subprocess.run(
        [*IMPORT, str(FIXTURE), "--observed-at", observed_at],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


async def end_offsets(kafka: KafkaSettings) -> dict[int, int]:
    """Each partition's high watermark, from fetches (Tansu answers ListOffsets `latest`
    wrongly; rolepulse.status reads it the same way)."""
    consumer = AIOKafkaConsumer(**kafka_client_kwargs(kafka), enable_auto_commit=False)
    await consumer.start()
    try:
        numbers = sorted(consumer.partitions_for_topic(kafka.topic) or ())
        tps = [TopicPartition(kafka.topic, p) for p in numbers]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        deadline = asyncio.get_running_loop().time() + 30
        while any(consumer.highwater(tp) is None for tp in tps):
            assert asyncio.get_running_loop().time() < deadline, "no high watermark in 30 s"
            await consumer.getmany(*tps, timeout_ms=100)
        return {tp.partition: int(consumer.highwater(tp) or 0) for tp in tps}
    finally:
        await consumer.stop()


async def graphql(mongo: MongoSettings) -> dict[str, Any]:
    app = build_app(ApiSettings(), mongo, load_taxonomy().roles)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            response = await http.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_a_jobspy_export_reaches_the_api(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings
) -> None:
    # An hour ago: the consumer refuses event times ahead of the broker's clock.
    seen = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = await asyncio.to_thread(import_file, kafka_settings, seen)
    assert first.returncode == 0, first.stderr
    assert "7 events from 9 rows; 2 skipped" in first.stderr
    assert f"published 7 events to {kafka_settings.topic}" in first.stdout
    # Importing the same file again publishes the same events: redeliveries, nothing changes.
    again = await asyncio.to_thread(import_file, kafka_settings, seen)
    assert again.returncode == 0, again.stderr

    ends = await end_offsets(kafka_settings)
    assert sum(ends.values()) == 14
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_consumer(kafka_settings, mongo_settings, ConsumerSettings(max_batch=50), stop)
    )
    try:
        await wait_consumed(mongo_settings, kafka_settings.topic, ends, timeout_s=60)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    data = await graphql(mongo_settings)
    # Six AI postings (the nurse is seen but in no role); each counted once despite two imports.
    assert data["market"] == {"openPositions": 6, "openPostingsAllRoles": 7, "postingsSeen": 7}
    assert data["mle"]["openPositions"] == 1
    assert data["mle"]["salary"] == {"n": 1, "avgMin": 150000.0, "avgMax": 190000.0}
    assert data["mle"]["topCompanies"] == [{"name": "Lam Research", "count": 1}]
    # Monthly pay annualized: 15,000-18,000 a month.
    assert data["llm"] == {
        "openPositions": 1,
        "salary": {"n": 1, "avgMin": 180000.0, "avgMax": 216000.0},
    }
    assert data["ds"] == {"openPositions": 1, "remotePct": 100.0}
    # The posting without a company counts in its role and in no company figure.
    assert data["prompt"]["openPositions"] == 1
    assert data["prompt"]["salary"] == {"n": 1, "avgMin": 114400.0}
    assert data["prompt"]["topCompanies"] == []
