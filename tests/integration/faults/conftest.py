"""Fixtures of the fault tests; the harness is in harness.py, event streams in events.py."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from rolepulse.domain.normalize import Normalizer
from rolepulse.settings import KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from tests.integration.faults.harness import Pipeline, PipelineFactory


def _sibling(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"faults_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


harness = _sibling("harness")


@pytest.fixture(scope="session")
def ev() -> ModuleType:
    """The event builders of events.py (market streams, poison messages)."""
    return _sibling("events")


@pytest.fixture(scope="session")
def role_figures() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """harness.role_figures: stored role counters in the reference's shape."""
    return harness.role_figures  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def normalizer() -> Normalizer:
    return Normalizer(load_taxonomy())


@pytest.fixture
def fast_kafka(kafka_settings: KafkaSettings) -> KafkaSettings:
    """The test's topics with the suite's small group timeouts (DESIGN.md: Tansu joins)."""
    return kafka_settings.model_copy(update={"session_timeout_ms": 6000})


@pytest.fixture
def pipeline_factory(tmp_path: Path, normalizer: Normalizer) -> PipelineFactory:
    """Pipelines on given settings: topics created first, consumers killed after."""

    @asynccontextmanager
    async def make(kafka: KafkaSettings, mongo: MongoSettings) -> AsyncIterator[Pipeline]:
        p: Pipeline = harness.Pipeline(kafka, mongo, tmp_path, normalizer)
        await p.create_topics()
        try:
            yield p
        finally:
            p.kill_all()
            await p.close()

    return make


@pytest.fixture
async def pipeline(
    fast_kafka: KafkaSettings, mongo_settings: MongoSettings, pipeline_factory: PipelineFactory
) -> AsyncIterator[Pipeline]:
    """A pipeline on the session's services, with this test's own topics and database."""
    async with pipeline_factory(fast_kafka, mongo_settings) as p:
        yield p
