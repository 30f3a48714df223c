"""`rolepulse serve` as a process of its own, on a free port, over this test's database; the
seed-page market, loaded once per session through the CLI (`seed_market`, read-only); and a
market of a test's own that a running consumer keeps following (`load_market`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from rolepulse.devservices import LocalServices
from rolepulse.settings import KafkaSettings, MongoSettings

START_TIMEOUT_S = 60


@dataclass(frozen=True)
class ApiProcess:
    url: str  # http://127.0.0.1:<port>
    log: Path  # uvicorn's output, for failure messages

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


StartApi = Callable[..., ApiProcess]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def start_api(mongo_settings: MongoSettings, tmp_path: Path) -> Iterator[StartApi]:
    """`start_api(ROLEPULSE_API_X="...")` starts `rolepulse serve`; it is stopped after the test."""
    procs: list[subprocess.Popen[bytes]] = []
    yield lambda **env: serve(mongo_settings, tmp_path, procs, **env)
    stop_all(procs)


def serve(
    mongo: MongoSettings, logs: Path, procs: list[subprocess.Popen[bytes]], **env: str
) -> ApiProcess:
    """Start `rolepulse serve` over `mongo` (appended to `procs`); return once /healthz is 200."""
    port = free_port()
    log = logs / f"api-{port}.log"
    environment = os.environ | {
        "ROLEPULSE_MONGO_URI": mongo.uri,
        "ROLEPULSE_MONGO_DATABASE": mongo.database,
        "ROLEPULSE_API_PORT": str(port),
        **env,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rolepulse", "serve"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    procs.append(proc)
    api = ApiProcess(f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        assert proc.poll() is None, f"rolepulse serve exited:\n{api.log_text()}"
        assert time.monotonic() < deadline, f"no /healthz within {START_TIMEOUT_S}s"
        try:
            if httpx.get(f"{api.url}/healthz", timeout=2).status_code == 200:
                return api
        except httpx.TransportError:
            pass
        time.sleep(0.2)


def stop_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process, then require a clean exit of each (killed after 20 s)."""
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        # uvicorn re-raises SIGTERM after its graceful shutdown, so -15 is a clean exit too.
        assert code in (0, -signal.SIGTERM), f"{proc.args!r} exited with {code} on SIGTERM"


# --- The seed-page market, loaded once per session ---

SEED_LOAD_TIMEOUT_S = 540  # ~40 s on an idle machine, 2-4 minutes on a busy one


@dataclass(frozen=True)
class SeedMarket:
    """The seed-page market as `seed_market` loaded it; see that fixture."""

    events: Path  # `rolepulse demo-market --scenario seed-page --out` (unshifted dates)
    total_events: int  # its lines: every one published and applied
    produce_output: str  # `rolepulse produce`'s stdout
    kafka: KafkaSettings  # the topic it was published to; nothing consumes it any more
    mongo: MongoSettings  # the database the consumer wrote
    api: ApiProcess  # `rolepulse serve` over that database, default settings, session-long


@pytest.fixture(scope="session")
def seed_market(
    local_services: LocalServices, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeedMarket]:
    """The seed-page market (the comparison page the project started from: AI Software Engineer
    vs AI Product Manager; `tests/e2e/test_seed_page.py` asserts its figures), loaded once per
    session through the whole CLI path: `rolepulse demo-market --scenario seed-page` writes the
    events, `rolepulse produce` publishes them to a topic of this fixture's own, a `rolepulse
    consume` process applies them to a database of its own, then `rolepulse serve` answers over
    it.

    Guarantees: every event of `events` is applied (the consumer's offsets cover them all) and
    the consumer was then stopped with SIGTERM and exited cleanly, so the figures are exactly
    those of the generated file and nothing changes them afterwards (no consumer, no sweeper);
    `api` answers with the default `ApiSettings` (response cache on, rate limiting off).

    Read-only: the market is shared by every test of the session, so a test must not publish
    to `kafka.topic`, write to `mongo.database` or start a consumer on them; a test that
    changes a market loads its own (`load_market`). Start another API over it with other
    settings with `start_seed_api`. Loading takes about 40 s on an idle machine, 2-4 minutes on
    a busy one.
    """
    name = f"t_seed_market_{uuid.uuid4().hex[:8]}"
    kafka = KafkaSettings(
        bootstrap_servers=local_services.kafka_bootstrap,
        topic=f"{name}.postings", dlq_topic=f"{name}.postings.dlq", group_id=f"{name}.consumer",
        session_timeout_ms=6_000, heartbeat_interval_ms=500,  # Tansu: a join waits ~half of it
    )  # fmt: skip
    mongo = MongoSettings(uri=local_services.mongo_uri, database=name)
    env = cli_env(kafka, mongo)
    logs = tmp_path_factory.mktemp("seed_market")
    events = logs / "seed.jsonl"
    consumers: list[subprocess.Popen[bytes]] = []
    servers: list[subprocess.Popen[bytes]] = []
    try:
        cli(env, "demo-market", "--scenario", "seed-page", "--out", str(events))
        total = count_events(events)
        consumers.append(consume(env, logs / "consumer.log"))
        produced = cli(env, "produce", str(events))
        wait_applied(mongo, total, consumers[0], logs / "consumer.log")
        stop_all(consumers)  # the market is complete: nothing may change it from here on
        consumers.clear()
        api = serve(mongo, logs, servers)
        yield SeedMarket(events, total, produced, kafka, mongo, api)
    finally:
        stop_all(consumers + servers)
        client: MongoClient[dict[str, Any]] = MongoClient(mongo.uri)
        try:
            client.drop_database(mongo.database)
        finally:
            client.close()


@pytest.fixture
def start_seed_api(seed_market: SeedMarket, tmp_path: Path) -> Iterator[StartApi]:
    """`start_seed_api(ROLEPULSE_API_X="...")`: `rolepulse serve` over the seed-page market with
    other settings; stopped after the test. The market stays read-only (see `seed_market`)."""
    procs: list[subprocess.Popen[bytes]] = []
    yield lambda **env: serve(seed_market.mongo, tmp_path, procs, **env)
    stop_all(procs)


# --- A market of a test's own, followed by a running consumer ---


@dataclass(frozen=True)
class LiveMarket:
    """A market as `load_market` loaded it; see that fixture."""

    kafka: KafkaSettings  # the topic its consumer follows: publish here to change the market
    api: ApiProcess  # `rolepulse serve` over that database, default settings


LoadMarket = Callable[[Path], LiveMarket]


@pytest.fixture
def load_market(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, tmp_path: Path
) -> Iterator[LoadMarket]:
    """`load_market(events)`: a market of this test's own that it may change, through the CLI:
    a `rolepulse consume` process on this test's topic and database, `rolepulse produce` of the
    JSONL file `events`, then (once every event is applied) `rolepulse serve` over the database.

    The consumer keeps running, so an event the test publishes to `kafka.topic` changes the
    market. Both processes are stopped after the test and must exit cleanly. Keep `events`
    small (a few dozen lines load in seconds); for the seed page use `seed_market`.
    """
    procs: list[subprocess.Popen[bytes]] = []

    def load(events: Path) -> LiveMarket:
        env = cli_env(kafka_settings, mongo_settings)
        log = tmp_path / "consumer.log"
        procs.append(consumer := consume(env, log))
        cli(env, "produce", str(events))
        wait_applied(mongo_settings, count_events(events), consumer, log)
        return LiveMarket(kafka_settings, serve(mongo_settings, tmp_path, procs))

    yield load
    stop_all(procs)


def cli_env(kafka: KafkaSettings, mongo: MongoSettings) -> dict[str, str]:
    """The environment for a `rolepulse` command on `kafka`'s topic and `mongo`'s database."""
    return os.environ | {
        "ROLEPULSE_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "ROLEPULSE_KAFKA_TOPIC": kafka.topic,
        "ROLEPULSE_KAFKA_DLQ_TOPIC": kafka.dlq_topic,
        "ROLEPULSE_KAFKA_GROUP_ID": kafka.group_id,
        "ROLEPULSE_KAFKA_SESSION_TIMEOUT_MS": str(kafka.session_timeout_ms),
        "ROLEPULSE_KAFKA_HEARTBEAT_INTERVAL_MS": str(kafka.heartbeat_interval_ms),
        "ROLEPULSE_MONGO_URI": mongo.uri,
        "ROLEPULSE_MONGO_DATABASE": mongo.database,
    }


def consume(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `rolepulse consume` with `env`, its output to `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "rolepulse", "consume"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def count_events(events: Path) -> int:
    return sum(1 for line in events.read_text().splitlines() if line.strip())


def cli(env: dict[str, str], *args: str) -> str:
    """Run `rolepulse ARGS...` to completion; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "rolepulse", *args],
        env=env, check=True, capture_output=True, text=True, timeout=SEED_LOAD_TIMEOUT_S,
    )  # fmt: skip
    return done.stdout


def wait_applied(
    mongo: MongoSettings, total: int, consumer: subprocess.Popen[bytes], log: Path
) -> None:
    """Until the consumer's stored offsets cover `total` events (every partition summed)."""
    client: MongoClient[dict[str, Any]] = MongoClient(mongo.uri)
    deadline = time.monotonic() + SEED_LOAD_TIMEOUT_S
    try:
        while True:
            done = sum(d["next_offset"] for d in client[mongo.database].consumer_offsets.find())
            if done >= total:
                return
            assert consumer.poll() is None, f"the consumer exited:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"{done} of {total} in {SEED_LOAD_TIMEOUT_S}s"
            time.sleep(0.5)
    finally:
        client.close()
