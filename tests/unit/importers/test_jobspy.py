"""The JobSpy importer: CSV export rows -> validated posting events v1, and its CLI commands."""

from __future__ import annotations

import json
import math
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from rolepulse.cli import app
from rolepulse.domain.normalize import Normalizer
from rolepulse.importers.jobspy import (
    JOBSPY_COLUMNS,
    JobSpyFormatError,
    events_from_rows,
    read_jobspy_csv,
    row_event,
)
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "jobspy" / "jobs.csv"
SEEN = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def _import(source: str | None = None) -> list[dict[str, Any]]:
    return list(events_from_rows(read_jobspy_csv(FIXTURE), observed_at=SEEN, source=source).events)


def _by_id(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["posting"]["source_id"]: e for e in events}


def test_an_indeed_row_maps_every_field() -> None:
    event = _by_id(_import())["in-8f2c1a77e0b4"]
    assert event["source"] == "indeed"
    assert event["event_type"] == "posting.observed"
    assert event["occurred_at"] == "2026-11-24T09:30:00Z"
    assert event["event_id"].startswith("indeed-")
    assert event["posting"] == {
        "source_id": "in-8f2c1a77e0b4",
        "url": "https://www.indeed.com/viewjob?jk=8f2c1a77e0b4",
        "title": "Machine Learning Engineer",
        "company": "Lam Research",
        "location": "Fremont, CA, US",
        # JobSpy's False is "no remote tag", so it says nothing: the text decides.
        "remote": None,
        "description": event["posting"]["description"],
        "salary": {"min": 150000.0, "max": 190000.0, "currency": "USD", "period": "year"},
        "seniority": None,
        "employment_type": "full-time",
        "posted_at": "2026-11-20T00:00:00Z",
    }
    assert "Work Location: Hybrid remote in Fremont" in event["posting"]["description"]


def test_remote_level_job_types_and_intervals() -> None:
    events = _by_id(_import())
    assert events["in-5c9e0b7f1a22"]["posting"]["remote"] is True
    assert events["li-4051234567"]["posting"]["seniority"] == "mid-senior level"
    assert events["in-77aa03c1d2e9"]["posting"]["employment_type"] == "full-time, part-time"
    assert events["in-77aa03c1d2e9"]["posting"]["salary"]["period"] == "hour"
    assert events["go-Zm9vYmFy"]["posting"]["salary"]["period"] == "month"
    assert events["gd-1009876543"]["posting"]["salary"] is None


def test_every_event_is_valid_and_normalizes() -> None:
    normalizer = Normalizer(load_taxonomy())
    roles = {}
    for event in _import():
        posting = normalizer.normalize(PostingEventV1.model_validate(event))
        roles[posting.source_id] = posting.role
    assert roles["in-8f2c1a77e0b4"] == "ai-ml-engineer"
    assert roles["in-77aa03c1d2e9"] is None  # a nurse whose charting tool is "AI-assisted"


def test_a_row_without_a_company_is_imported_with_company_null() -> None:
    event = _by_id(_import())["zr-a1b2c3d4"]
    assert event["posting"]["company"] is None
    assert event["source"] == "zip_recruiter"


def test_rows_that_cannot_become_events_are_counted_with_reasons() -> None:
    report = events_from_rows(read_jobspy_csv(FIXTURE), observed_at=SEEN)
    assert (report.rows, len(report.events), len(report.skipped)) == (9, 7, 2)
    assert [(s.row, s.reason) for s in report.skipped] == [
        (7, "no title"),
        (8, "min_amount 'lots' is not a number"),
    ]
    assert report.summary() == [
        "7 events from 9 rows; 2 skipped",
        "  row 7: no title",
        "  row 8: min_amount 'lots' is not a number",
    ]


def test_the_summary_shows_the_first_reasons_only() -> None:
    rows = [{"title": "", "job_url": f"https://x/{n}"} for n in range(8)]
    report = events_from_rows(rows, observed_at=SEEN)
    assert report.summary(shown=2)[-1] == "  ... and 6 more"


def test_event_ids_are_deterministic_and_follow_the_content() -> None:
    first, again = _import(), _import()
    assert [e["event_id"] for e in first] == [e["event_id"] for e in again]
    assert len({e["event_id"] for e in first}) == len(first)
    row = {"id": "in-1", "site": "indeed", "job_url": "https://x/1", "title": "AI Engineer"}
    base = row_event(row, observed_at=SEEN)["event_id"]
    assert row_event(dict(row, description="new text"), observed_at=SEEN)["event_id"] != base
    later = datetime(2026, 11, 25, tzinfo=UTC)
    assert row_event(row, observed_at=later)["event_id"] != base  # a new observation


def test_source_option_overrides_the_site() -> None:
    events = _import(source="scraper-7")
    assert {e["source"] for e in events} == {"scraper-7"}
    assert all(e["event_id"].startswith("scraper-7-") for e in events)


def test_a_row_without_id_is_identified_by_its_url() -> None:
    event = row_event(
        {"title": "AI Engineer", "job_url": "https://jobs.example/1"}, observed_at=SEEN
    )
    assert event["source"] == "jobspy"
    assert event["posting"]["source_id"].startswith("url-")


def test_rows_from_scrape_jobs_records_map_like_csv_rows() -> None:
    """`DataFrame.to_dict("records")`: NaN for missing, real booleans, floats and dates."""
    record: dict[str, object] = dict.fromkeys(JOBSPY_COLUMNS, math.nan)
    record |= {
        "id": "in-8f2c1a77e0b4",
        "site": "indeed",
        "job_url": "https://www.indeed.com/viewjob?jk=8f2c1a77e0b4",
        "title": "Machine Learning Engineer",
        "company": "Lam Research",
        "location": "Fremont, CA, US",
        "date_posted": date(2026, 11, 20),
        "job_type": "fulltime",
        "interval": "yearly",
        "min_amount": 150000.0,
        "max_amount": 190000.0,
        "currency": "USD",
        "is_remote": True,
    }
    posting = row_event(record, observed_at=SEEN)["posting"]
    assert posting["remote"] is True
    assert posting["posted_at"] == "2026-11-20T00:00:00Z"
    assert posting["salary"] == {
        "min": 150000.0,
        "max": 190000.0,
        "currency": "USD",
        "period": "year",
    }
    assert posting["description"] is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"interval": "fortnightly", "min_amount": "10"}, "interval 'fortnightly' is not one of"),
        ({"min_amount": "-5", "interval": "yearly"}, "posting.salary.min"),
        ({"title": "x" * 2001}, "posting.title"),
        ({"site": "my site"}, "cannot name a source"),
        ({"id": "", "job_url": ""}, "no id and no job_url"),
    ],
)
def test_invalid_rows_say_why(change: dict[str, str], reason: str) -> None:
    row = {"id": "in-1", "site": "indeed", "job_url": "https://x/1", "title": "AI Engineer"}
    report = events_from_rows([row | change], observed_at=SEEN)
    assert not report.events
    assert reason in report.skipped[0].reason


def test_a_future_or_unreadable_posting_date_is_dropped_not_the_row() -> None:
    row = {"id": "in-1", "job_url": "https://x/1", "title": "AI Engineer"}
    for posted in ("2027-01-01", "yesterday"):
        assert (
            row_event(row | {"date_posted": posted}, observed_at=SEEN)["posting"]["posted_at"]
            is None
        )


def test_amounts_without_an_interval_are_no_salary() -> None:
    row = {"id": "in-1", "job_url": "https://x/1", "title": "AI Engineer", "min_amount": "5"}
    assert row_event(row, observed_at=SEEN)["posting"]["salary"] is None


def test_a_file_without_jobspy_columns_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,city\nAda,London\n")
    with pytest.raises(JobSpyFormatError, match=r"is not a JobSpy export: no title or job_url"):
        read_jobspy_csv(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(JobSpyFormatError, match="is empty"):
        read_jobspy_csv(empty)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"title,job_url\n\xff\xfe\x00x,y\n")
    with pytest.raises(JobSpyFormatError, match="not UTF-8"):
        read_jobspy_csv(binary)


# ---- the CLI ----


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_import_writes_jsonl_and_reports_skipped_rows(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    result = _cli(
        "import", "jobspy", str(FIXTURE), "--out", str(out), "--observed-at", "2026-11-24T09:30:00Z"
    )
    assert result.exit_code == 0, result.output
    assert "7 events from 9 rows; 2 skipped" in result.stderr
    assert "row 7: no title" in result.stderr
    assert result.stdout.strip() == f"wrote 7 events to {out}"
    lines = out.read_text().splitlines()
    assert [json.loads(line) for line in lines] == _import()
    # Again: the same file gives the same events, which the consumer ignores as redeliveries.
    _cli(
        "import", "jobspy", str(FIXTURE), "--out", str(out), "--observed-at", "2026-11-24T09:30:00Z"
    )
    assert out.read_text().splitlines() == lines


def test_import_defaults_to_the_files_modification_time(tmp_path: Path) -> None:
    copy = tmp_path / "jobs.csv"
    copy.write_bytes(FIXTURE.read_bytes())
    stamp = SEEN.timestamp()
    os.utime(copy, (stamp, stamp))
    out = tmp_path / "events.jsonl"
    assert _cli("import", "jobspy", str(copy), "--out", str(out)).exit_code == 0
    first = json.loads(out.read_text().splitlines()[0])
    assert first["occurred_at"] == "2026-11-24T09:30:00Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nope.csv",), "error: no such file: nope.csv (check the path)"),
        (("--source", "a:b", "FIXTURE"), "a source has no ':'"),
        (("--observed-at", "yesterday", "FIXTURE"), "an RFC 3339 time with a zone"),
    ],
)
def test_import_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    argv = [str(FIXTURE) if a == "FIXTURE" else a for a in args]
    result = _cli("import", "jobspy", *argv)
    assert result.exit_code == 2
    assert message in result.stderr


def test_import_of_a_file_with_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,city\nAda,London\n")
    result = _cli("import", "jobspy", str(path))
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"error: {path} is not a JobSpy export: no title or job_url column "
        "(its columns: name, city)"
    ]


def test_import_with_no_usable_row_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("title,job_url\n,https://x/1\n")
    result = _cli("import", "jobspy", str(path), "--out", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 1
    assert "0 events from 1 rows; 1 skipped" in result.stderr


def test_scrape_without_python_jobspy_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jobspy", None)  # import jobspy raises ImportError
    result = _cli("scrape", "--search", "machine learning engineer")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: rolepulse scrape needs python-jobspy")
    assert "pip install 'rolepulse[scrape]'" in result.stderr


class _Frame:
    def __init__(self, records: list[dict[str, object]]) -> None:
        self.records = records
        self.attrs: dict[str, dict[str, str]] = {"errors": {}}

    def to_dict(self, orient: str) -> list[dict[str, object]]:
        assert orient == "records"
        return self.records


def test_scrape_publishes_site_by_site(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With a stand-in for python-jobspy: each site's rows are mapped and written in turn."""
    calls: list[dict[str, object]] = []

    def scrape_jobs(**kwargs: object) -> _Frame:
        calls.append(kwargs)
        sites = kwargs["site_name"]
        assert isinstance(sites, list)
        site = str(sites[0])
        return _Frame(
            [
                {
                    "id": f"{site}-1",
                    "site": site,
                    "job_url": f"https://{site}.example/1",
                    "title": "Machine Learning Engineer",
                    "company": "Acme",
                    "is_remote": False,
                    "min_amount": math.nan,
                }
            ]
        )

    fake = ModuleType("jobspy")
    fake.scrape_jobs = scrape_jobs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "jobspy", fake)
    out = tmp_path / "scraped.jsonl"
    result = _cli(
        "scrape", "--search", "ml engineer", "--sites", "indeed,linkedin", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert [c["site_name"] for c in calls] == [["indeed"], ["linkedin"]]
    assert calls[0]["search_term"] == "ml engineer"
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["source"] for e in events] == ["indeed", "linkedin"]
    assert result.stdout.count("wrote 1 events") == 2
