"""`rolepulse normalize` prints what the consumer would store, one JSON object per event."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from rolepulse.cli import app

OBSERVED = {
    "version": 1,
    "event_id": "e1",
    "event_type": "posting.observed",
    "occurred_at": "2026-11-01T10:00:00Z",
    "source": "lever",
    "posting": {
        "source_id": "77",
        "title": "Senior Machine Learning Engineer",
        "company": "Amazon.com Services LLC",
        "location": "NYC",
        "description": "We leverage trust and k8s; you write Python.",
        "salary_text": "$65 - $90 an hour",
    },
}


def run(lines: list[str]) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["normalize", "-"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_observed_event_is_normalized() -> None:
    [row] = run([json.dumps(OBSERVED)])
    assert row["event_id"] == "e1"
    assert row["posting_key"] == "lever:77"
    assert row["role"] == "ai-ml-engineer"
    assert row["seniority"] == "senior"
    # Title and description both count; no RAG inside "leverage", no Rust inside "trust".
    assert row["skills"] == ["Machine Learning", "Kubernetes", "Python"]
    assert row["company"] == "Amazon"
    assert row["metro"] == "New York"
    assert row["salary"] == {
        "min": 65.0, "max": 90.0, "currency": "USD", "period": "hour",
        "annual_min_usd": 135_200, "annual_max_usd": 187_200, "source": "text",
    }  # fmt: skip
    assert row["error"] is None


def test_bad_lines_get_a_reason_and_do_not_stop_the_stream() -> None:
    unknown_version = json.dumps(OBSERVED | {"version": 7})
    rows = run(["{oops", unknown_version, "", json.dumps(OBSERVED)])
    assert [r["error"] is None for r in rows] == [False, False, True]
    assert str(rows[0]["error"]).startswith("invalid_json")
    assert str(rows[1]["error"]).startswith("unsupported_version")
    assert rows[1]["event_id"] == "e1"
