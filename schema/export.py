"""Render the committed contract files from the code they describe."""

from __future__ import annotations

import json

from rolepulse.schema.events import PostingEventV1


def event_json_schema() -> str:
    schema = PostingEventV1.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://rolepulse.dev/schema/posting-event-v1.schema.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
