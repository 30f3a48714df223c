"""The seed page, end to end: CLI-generated market -> `rolepulse produce` -> Kafka -> consumer
process -> MongoDB -> API process -> the contract query over HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from rolepulse.settings import KafkaSettings, MongoSettings

# The contract query, verbatim: clients and external checks rely on its field names.
CONTRACT_QUERY = (Path(__file__).parents[2] / "schema" / "contract_query.graphql").read_text()

# The published page's figures (../shared/SEED-PAGE.md), to the dollar as generated.
SWE = {
    "open": 598,
    "salary": {"n": 518, "avgMin": 140_000, "avgMax": 249_000, "p25": 203_000,
               "median": 235_000, "average": 249_000, "p75": 300_000},
    "remote": 8,
    "mix": (2, 43, 55),
    "skills": ["RAG", "Python", "Rust", "Kubernetes", "AWS", "Docker", "Claude", "OpenAI"],
    "companies": [("Accenture", 112), ("Google", 74), ("Apple", 26), ("GEICO", 18)],
}  # fmt: skip
PM = {
    "open": 594,
    "salary": {"n": 475, "avgMin": 134_000, "avgMax": 194_000, "p25": 165_000,
               "median": 200_000, "average": 194_000, "p75": 243_000},
    "remote": 18,
    "mix": (2, 59, 39),
    "skills": ["RAG", "Rust", "AWS", "Python", "Prompt Engineering", "GCP", "Salesforce", "Azure"],
    "companies": [("Amazon", 79), ("Google", 21), ("Intuit", 16)],
}  # fmt: skip
MARKET_OPEN = 26_159
CROSS_POSTED = 400  # open jobs the generator also posts on a second board


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rolepulse", *args],
        env=env, check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.fixture
def env(kafka_settings: KafkaSettings, mongo_settings: MongoSettings) -> dict[str, str]:
    return os.environ | {
        "ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "ROLEPULSE_KAFKA_TOPIC": kafka_settings.topic,
        "ROLEPULSE_KAFKA_DLQ_TOPIC": kafka_settings.dlq_topic,
        "ROLEPULSE_KAFKA_GROUP_ID": kafka_settings.group_id,
        "ROLEPULSE_KAFKA_SESSION_TIMEOUT_MS": str(kafka_settings.session_timeout_ms),
        "ROLEPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka_settings.heartbeat_interval_ms),
        "ROLEPULSE_MONGO_URI": mongo_settings.uri,
        "ROLEPULSE_MONGO_DATABASE": mongo_settings.database,
        "ROLEPULSE_API_PORT": str(free_port()),
    }


@pytest.fixture
def processes(env: dict[str, str]) -> Iterator[None]:
    procs = [
        subprocess.Popen([sys.executable, "-m", "rolepulse", cmd], env=env)
        for cmd in ("consume", "serve")
    ]
    try:
        yield
    finally:
        for p in procs:
            p.terminate()
        # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is a clean exit too.
        for p in procs:
            code = p.wait(timeout=20)
            assert code in (0, -signal.SIGTERM), f"{p.args!r} exited with {code} on SIGTERM"


def wait_applied(mongo: MongoSettings, topic: str, total: int, timeout_s: float) -> None:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo.uri)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            done = sum(d["next_offset"] for d in client[mongo.database].consumer_offsets.find())
            if done >= total:
                return
            time.sleep(0.5)
        raise AssertionError(f"consumer applied {done} of {total} events in {timeout_s}s")
    finally:
        client.close()


def query(port: str, variables: dict[str, str], text: str = CONTRACT_QUERY) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        try:
            r = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                json={"query": text, "variables": variables},
                timeout=10,
            )
            break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body.get("errors") is None, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def test_seed_page_figures_through_kafka_mongo_and_graphql(
    tmp_path: Path, env: dict[str, str], processes: None, mongo_settings: MongoSettings,
    kafka_settings: KafkaSettings,
) -> None:  # fmt: skip
    market = tmp_path / "seed.jsonl"
    cli("demo-market", "--scenario", "seed-page", "--out", str(market), env=env)
    total = sum(1 for line in market.read_text().splitlines() if line.strip())
    published = cli("produce", str(market), env=env)
    assert f"published {total} events" in published.stdout

    wait_applied(mongo_settings, kafka_settings.topic, total, timeout_s=600)
    data = query(
        env["ROLEPULSE_API_PORT"], {"a": "ai-software-engineer", "b": "ai-product-manager"}
    )

    assert data["market"]["openPositions"] == MARKET_OPEN
    cmp = data["compareRoles"]
    assert round(cmp["premiumPct"]) == 28
    assert cmp["higherPaid"]["slug"] == "ai-software-engineer"
    assert sorted(cmp["sharedSkills"]) == ["AWS", "Python", "RAG", "Rust"]
    assert cmp["overlapPct"] == pytest.approx(50.0)
    assert_role(cmp["a"], "ai-software-engineer", "AI Software Engineer", SWE)
    assert_role(cmp["b"], "ai-product-manager", "AI Product Manager", PM)
    extra = query(env["ROLEPULSE_API_PORT"], {}, "{ market { crossBoardDuplicates } }")
    assert extra["market"]["crossBoardDuplicates"] == CROSS_POSTED  # counted once, not twice


def assert_role(role: dict[str, Any], slug: str, title: str, want: dict[str, Any]) -> None:
    assert (role["slug"], role["title"]) == (slug, title)
    assert role["openPositions"] == want["open"]
    assert role["shareOfMarketPct"] == pytest.approx(want["open"] / MARKET_OPEN * 100)
    assert round(role["remotePct"]) == want["remote"]
    for field, value in want["salary"].items():
        assert role["salary"][field] == pytest.approx(value, abs=0.5), field
    mix = role["experienceMix"]
    assert (round(mix["entryPct"]), round(mix["midPct"]), round(mix["seniorPct"])) == want["mix"]
    assert [s["name"] for s in role["topSkills"]] == want["skills"]
    counts = [s["count"] for s in role["topSkills"]]
    assert counts == sorted(counts, reverse=True)
    companies = [(c["name"], c["count"]) for c in role["topCompanies"]]
    assert companies[: len(want["companies"])] == want["companies"]
