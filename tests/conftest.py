"""Shared fixtures: local Tansu + SecantusDB for integration/e2e tests, isolated per test.

The services start lazily, on the first test that asks for them, so ``pytest tests/unit``
never launches a process. Each test gets its own topics, consumer group and database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo import MongoClient

from rolepulse.devservices import LocalServices
from rolepulse.settings import KafkaSettings, MongoSettings

_TESTS = Path(__file__).parent
_MARK_BY_DIR = {_TESTS / "integration": "integration", _TESTS / "e2e": "e2e"}
_SERVICE_FIXTURES = {"local_services", "kafka_settings", "mongo_settings"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark tests by directory, and refuse unit tests that would start the services."""
    for item in items:
        for directory, mark in _MARK_BY_DIR.items():
            if item.path.is_relative_to(directory):
                item.add_marker(getattr(pytest.mark, mark))
        uses = _SERVICE_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if item.path.is_relative_to(_TESTS / "unit") and uses:
            raise pytest.UsageError(f"{item.nodeid}: unit tests must not use {sorted(uses)}")


@pytest.fixture(scope="session")
def local_services() -> Iterator[LocalServices]:
    """Tansu and SecantusDB, started once per session; a start failure errors the tests."""
    with LocalServices.start() as services:
        yield services


@pytest.fixture
def test_id(request: pytest.FixtureRequest) -> str:
    """A short name unique to this test run, safe in topic, group and database names."""
    name = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:24]
    return f"t_{name}_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def kafka_settings(local_services: LocalServices, test_id: str) -> KafkaSettings:
    """Kafka settings with this test's own topic, dead-letter topic and consumer group."""
    return KafkaSettings(
        bootstrap_servers=local_services.kafka_bootstrap,
        topic=f"{test_id}.postings",
        dlq_topic=f"{test_id}.postings.dlq",
        group_id=f"{test_id}.consumer",
        # Small timeouts: Tansu makes a group join wait about session_timeout / 2.
        session_timeout_ms=6_000,
        heartbeat_interval_ms=500,
    )


@pytest.fixture
def mongo_settings(local_services: LocalServices, test_id: str) -> Iterator[MongoSettings]:
    """Mongo settings with a database of this test's own, dropped afterwards."""
    settings = MongoSettings(uri=local_services.mongo_uri, database=test_id)
    yield settings
    client: MongoClient[dict[str, object]] = MongoClient(settings.uri)
    try:
        client.drop_database(settings.database)
    finally:
        client.close()
