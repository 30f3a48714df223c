from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from rolepulse.schema.events import PostingEventV1
from rolepulse.schema.export import event_json_schema

COMMITTED = Path(__file__).parents[3] / "schema" / "posting-event-v1.schema.json"

OBSERVED = {
    "version": 1,
    "event_id": "gh-1-2026-11-01",
    "event_type": "posting.observed",
    "occurred_at": "2026-11-01T10:00:00Z",
    "source": "greenhouse",
    "posting": {
        "source_id": "1",
        "title": "LLM Engineer",
        "company": "Acme",
        "salary": {"min": 1, "max": 2, "currency": "USD", "period": "year"},
        "future_field": "later versions add fields; v1 readers ignore them",
    },
}


def test_committed_json_schema_matches_the_model() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == event_json_schema(), (
        "schema/posting-event-v1.schema.json is stale: run `rolepulse export-schema`"
    )


def test_json_schema_and_model_agree_on_a_valid_event() -> None:
    jsonschema.validate(OBSERVED, json.loads(COMMITTED.read_text()))
    assert PostingEventV1.model_validate(OBSERVED).posting_key == "greenhouse:1"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event_type": "posting.updated"}, "event_type"),
        ({"occurred_at": "2026-11-01T10:00:00"}, "timezone"),
        ({"posting": {"source_id": "1", "company": "Acme"}}, "posting.title"),
        ({"posting": {"title": "x", "company": "y"}}, "source_id"),
        ({"source": "has:colon"}, "source"),
    ],
)
def test_invalid_events_are_refused_with_a_reason(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PostingEventV1.model_validate(OBSERVED | change)


def test_json_schema_requires_title_and_company_only_when_observed() -> None:
    schema = json.loads(COMMITTED.read_text())
    untitled = OBSERVED | {"posting": {"source_id": "1", "company": "Acme"}}
    with pytest.raises(jsonschema.ValidationError, match="title"):
        jsonschema.validate(untitled, schema)
    jsonschema.validate(untitled | {"event_type": "posting.closed"}, schema)


def test_close_needs_only_source_and_source_id() -> None:
    closed = {
        "version": 1,
        "event_id": "c1",
        "event_type": "posting.closed",
        "occurred_at": "2026-11-02T00:00:00+01:00",
        "source": "lever",
        "posting": {"source_id": "9"},
    }
    assert PostingEventV1.model_validate(closed).posting_key == "lever:9"


def test_the_readme_example_event_is_valid() -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text()
    block = readme.split("```json\n", 1)[1].split("\n```", 1)[0]
    event = json.loads(block)
    jsonschema.validate(event, json.loads(COMMITTED.read_text()))
    assert PostingEventV1.model_validate(event).posting_key == "indeed:8f2c"
