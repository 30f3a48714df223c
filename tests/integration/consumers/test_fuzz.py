"""Fuzzing the path decode -> plan -> store on the real broker and database (issue 7, part 5).

Each example is one poll: arbitrary bytes, arbitrary JSON and contract-shaped events with
extreme values (numbers from 5e-324 to 1e400, years 1 to 9999, any Unicode, long strings),
between two valid events. Whatever they are, every message must end applied or dead-lettered,
the partition's stored offset must move past all of them, the valid neighbours must apply, and
the stored aggregates must equal their recomputation. Derandomized with a fixed budget, so CI
runs the same examples every time in well under a minute.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rolepulse.consumers.decode import Accepted, decode_message
from rolepulse.consumers.verify import aggregate_differences
from rolepulse.domain.lifecycle import Expired, transition_key
from rolepulse.domain.normalize import Normalizer
from rolepulse.settings import KafkaSettings, MongoSettings
from rolepulse.taxonomy import load_taxonomy

if TYPE_CHECKING:
    from tests.integration.consumers.conftest import Direct, DirectFactory

EXAMPLES = 80
NOW = datetime.now(UTC)
TITLES = ["Senior LLM Engineer", "Data Scientist", "MLOps Engineer", "AI Product Manager"]
_ids = itertools.count()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
numbers = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=10**31),
    st.floats(min_value=0, max_value=1e9),
    st.sampled_from([5e-324, 1e9, 1e9 + 1, 1e30, 1e308, float("inf"), float("nan"), -1.0]),
)
offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
recent = st.builds(
    lambda ago, tz: (NOW - ago).astimezone(tz).isoformat(),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60)),
    offsets,
)
far = st.one_of(
    st.builds(  # more than the skew ahead: a plausible year, an implausible time
        lambda ahead, tz: (NOW + ahead).astimezone(tz).isoformat(),
        st.timedeltas(min_value=timedelta(days=2), max_value=timedelta(days=3650)),
        offsets,
    ),
    st.builds(
        lambda year, tz: f"{year:04d}-12-31T23:00:00{tz}",
        st.integers(min_value=1, max_value=9999),
        st.sampled_from(["Z", "-05:00", "+14:00"]),
    ),
)
times = st.one_of(recent, recent, recent, far)
texts = st.text(max_size=60) | st.text(alphabet="$€£¥₹0123456789,.kKM -/hr", max_size=40)
salaries = st.none() | st.fixed_dictionaries(
    {
        "min": numbers,
        "max": numbers,
        "currency": st.sampled_from(["USD", "EUR", "INR", "ZZZ"]),
        "period": st.sampled_from(["year", "month", "week", "day", "hour"]),
    }
)
postings = st.fixed_dictionaries(
    {
        "source_id": st.text(min_size=1, max_size=30),
        "title": st.sampled_from([*TITLES, "LLM \ud800 Engineer"]) | texts,
        "company": st.sampled_from(["Acme", "Google LLC"]) | texts,
    },
    optional={
        "location": st.none() | st.sampled_from(["New York, NY", "Remote"]) | texts,
        "remote": st.none() | st.booleans() | st.sampled_from(["yes", 1]),
        "description": st.none() | texts | st.text(min_size=2000, max_size=3000),
        "salary": salaries,
        "salary_text": st.none() | texts,
        "posted_at": st.none() | times,
        "url": st.none() | st.text(max_size=100),
    },
)
events = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "event_id": st.text(min_size=1, max_size=30),
        "event_type": st.sampled_from(["posting.observed", "posting.observed", "posting.closed"]),
        "occurred_at": times,
        "source": st.from_regex(r"[^:\s]{1,12}", fullmatch=True),
        "posting": postings,
    }
)


def _dumps(value: Any) -> bytes:
    # ensure_ascii=False sends Unicode as UTF-8 and lone surrogates as their escapes.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def unique(event: dict[str, Any]) -> bytes:
    """Event ids unique per message: a reused id with other content is a conflict, not this."""
    return _dumps(event | {"event_id": f"{event['event_id']}#{next(_ids)}"})


messages = st.one_of(
    st.binary(max_size=200),
    st.integers(min_value=30, max_value=20_000).map(lambda n: b"[" * n + b"]" * n),
    json_values.map(_dumps),
    events.map(unique),
    events.map(unique),
    events.map(unique),
)


def valid(n: int) -> bytes:
    body = {
        "version": 1,
        "event_id": f"anchor-{n}",
        "event_type": "posting.observed",
        "occurred_at": (NOW - timedelta(days=1)).isoformat(),
        "source": "greenhouse",
        "posting": {"source_id": f"anchor-{n}", "title": TITLES[n % 4], "company": "Acme"},
    }
    return _dumps(body)


async def check(d: Direct, normalizer: Normalizer, poll: list[bytes]) -> None:
    raws = [valid(next(_ids)), *poll, valid(next(_ids))]
    offsets = await d.deliver(raws)
    assert await d.stored_offset() == offsets[-1] + 1, "the partition moved past the poll"
    query = {"topic": d.kafka.topic, "offset": {"$in": offsets}}
    rejected = {r["offset"]: r["reason"] async for r in d.db.rejects.find(query)}
    assert not {offsets[0], offsets[-1]} & rejected.keys(), rejected
    for offset, raw in zip(offsets, raws, strict=True):
        if offset in rejected:
            continue
        outcome = decode_message(raw, normalizer, now=datetime.now(UTC))
        assert isinstance(outcome, Accepted), f"neither applied nor dead-lettered: {raw[:200]!r}"
        if not isinstance(outcome.transition, Expired):
            key = transition_key(outcome.transition)
            assert await d.db.postings.find_one({"_id": key}, {"_id": 1}), f"{key} not applied"
    differences = await aggregate_differences(d.db)
    assert differences == [], differences[:10]


def test_every_message_ends_applied_or_dead_lettered(
    kafka_settings: KafkaSettings, mongo_settings: MongoSettings, direct_factory: DirectFactory
) -> None:
    normalizer = Normalizer(load_taxonomy())
    # Hypothesis calls the example function synchronously: one event loop serves every example,
    # so the clients are opened once and reused.
    with asyncio.Runner() as loop:
        stack = AsyncExitStack()
        d = loop.run(
            stack.enter_async_context(direct_factory(kafka_settings, mongo_settings, normalizer))
        )
        try:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(st.lists(messages, min_size=1, max_size=5))
            def one_poll(poll: list[bytes]) -> None:
                loop.run(check(d, normalizer, poll))

            one_poll()
            rejects = loop.run(d.db.rejects.count_documents({}))
            dead = loop.run(d.dead_letters(rejects))
            assert len(dead) == rejects, "every reject is on the dead-letter topic"
        finally:
            loop.run(stack.aclose())
