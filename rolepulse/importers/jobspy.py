"""python-jobspy exports -> posting events v1.

JobSpy (the `python-jobspy` package) scrapes Indeed, LinkedIn, Glassdoor, Google and
ZipRecruiter into a pandas DataFrame whose columns are the fields of its `JobPost` model; its
CSV export is that frame's `to_csv(index=False)`: an empty cell for a missing value, booleans
as `True`/`False`, amounts as floats (`150000.0`), `date_posted` as `YYYY-MM-DD`, `job_type`
comma-joined (`fulltime, parttime`), `interval` one of yearly/monthly/weekly/daily/hourly, ids
prefixed by site (`in-…`, `li-…`, `gd-…`, `go-…`, `zr-…`). Rows from `scrape_jobs` itself
(`DataFrame.to_dict("records")`) map the same way: NaN for a missing value, real booleans,
floats and dates.

Pure: no I/O besides reading the file in `read_jobspy_csv`. Every event is validated against
the contract; a row that cannot become one is reported with its reason and skipped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import ValidationError

from rolepulse.errors import UserError
from rolepulse.schema.events import PostingEventV1

# The fields of python-jobspy's JobPost, in its order: the columns of its exports.
JOBSPY_COLUMNS: Final = (
    "id",
    "site",
    "job_url",
    "job_url_direct",
    "title",
    "company",
    "location",
    "date_posted",
    "job_type",
    "salary_source",
    "interval",
    "min_amount",
    "max_amount",
    "currency",
    "is_remote",
    "job_level",
    "job_function",
    "listing_type",
    "emails",
    "description",
    "company_industry",
    "company_url",
    "company_logo",
    "company_url_direct",
    "company_addresses",
    "company_num_employees",
    "company_revenue",
    "company_description",
    "skills",
    "experience_range",
    "company_rating",
    "company_reviews_count",
    "vacancy_count",
    "work_from_home_type",
)
# JobPost's two required fields: a file without them is no JobSpy export.
REQUIRED_COLUMNS: Final = ("title", "job_url")
INTERVALS: Final[Mapping[str, str]] = {
    "yearly": "year",
    "monthly": "month",
    "weekly": "week",
    "daily": "day",
    "hourly": "hour",
}
JOB_TYPES: Final[Mapping[str, str]] = {
    "fulltime": "full-time",
    "parttime": "part-time",
    "contract": "contract",
    "temporary": "temporary",
    "internship": "internship",
    "perdiem": "per-diem",
    "other": "other",
    "volunteer": "volunteer",
}
DEFAULT_SOURCE: Final = "jobspy"
_SOURCE = re.compile(r"^[^:\s]{1,200}$")
# Descriptions run to tens of KB; the csv module's default field limit is 128 KB.
_FIELD_LIMIT: Final = 10_000_000


class JobSpyFormatError(UserError):
    """The file is not a JobSpy CSV export (no header, missing columns, not UTF-8 text)."""


class RowError(ValueError):
    """Why one row cannot become a posting event."""


@dataclass(frozen=True, slots=True)
class Skipped:
    row: int  # 1-based data row (a description may span lines, so no file line numbers)
    reason: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    events: tuple[dict[str, Any], ...]
    skipped: tuple[Skipped, ...]

    def summary(self, shown: int = 5) -> list[str]:
        """One line of counts, then the first `shown` skipped rows with their reasons."""
        lines = [f"{len(self.events)} events from {self.rows} rows; {len(self.skipped)} skipped"]
        lines += [f"  row {s.row}: {s.reason}" for s in self.skipped[:shown]]
        if len(self.skipped) > shown:
            lines.append(f"  ... and {len(self.skipped) - shown} more")
        return lines

    def lines(self) -> list[bytes]:
        """The events as JSON lines, ready for `rolepulse.publish.publish_lines`."""
        return [json.dumps(e, ensure_ascii=False).encode() for e in self.events]


def read_jobspy_csv(path: Path) -> list[dict[str, str | None]]:
    """The data rows of a JobSpy CSV export; `JobSpyFormatError` if it is not one."""
    csv.field_size_limit(_FIELD_LIMIT)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames
            if not header:
                raise JobSpyFormatError(
                    f"{path} is empty: expected a JobSpy CSV export with a header row"
                )
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                found = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
                raise JobSpyFormatError(
                    f"{path} is not a JobSpy export: no {' or '.join(missing)} column "
                    f"(its columns: {found})"
                )
            return [dict(row) for row in reader]
    except UnicodeDecodeError as exc:
        raise JobSpyFormatError(
            f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from exc
    except csv.Error as exc:
        raise JobSpyFormatError(f"{path} is not a readable CSV file: {exc}") from exc


def events_from_rows(
    rows: Iterable[Mapping[str, object]], *, observed_at: datetime, source: str | None = None
) -> ImportReport:
    """Map every row; rows that cannot become an event are counted with their reasons."""
    events: list[dict[str, Any]] = []
    skipped: list[Skipped] = []
    count = 0
    for count, row in enumerate(rows, start=1):
        try:
            events.append(row_event(row, observed_at=observed_at, source=source))
        except RowError as exc:
            skipped.append(Skipped(count, str(exc)))
    return ImportReport(count, tuple(events), tuple(skipped))


def row_event(
    row: Mapping[str, object], *, observed_at: datetime, source: str | None = None
) -> dict[str, Any]:
    """One JobSpy row as a validated `posting.observed` event; `RowError` says why not.

    The event id is a digest of everything else in the event (source, the row's id, its mapped
    content and `observed_at`): importing the same file again publishes the same events, which
    the consumer recognises as redeliveries, and a row whose content changed gets a new id.
    """
    title = _text(row.get("title"))
    if title is None:
        raise RowError("no title")
    src = source or _text(row.get("site")) or DEFAULT_SOURCE
    if not _SOURCE.match(src):
        raise RowError(f"site {src!r} cannot name a source (no ':' or spaces)")
    url = _text(row.get("job_url")) or _text(row.get("job_url_direct"))
    source_id = _text(row.get("id"))
    if source_id is None:
        if url is None:
            raise RowError("no id and no job_url to identify the posting")
        # JobSpy leaves id empty only where a board gave none; the URL identifies the posting.
        source_id = "url-" + hashlib.sha256(url.encode()).hexdigest()[:20]
    posting: dict[str, Any] = {
        "source_id": source_id,
        "url": url,
        "title": title,
        "company": _text(row.get("company")),
        "location": _text(row.get("location")),
        # JobSpy's False means "no remote tag was found", not "on site": an explicit false
        # would outrank the description's own statement of the arrangement.
        "remote": True if _flag(row.get("is_remote")) else None,
        "description": _text(row.get("description")),
        "salary": _salary(row),
        "seniority": _text(row.get("job_level")),
        "employment_type": _job_type(row.get("job_type")),
        "posted_at": _posted_at(row.get("date_posted"), observed_at),
    }
    body: dict[str, Any] = {
        "version": 1,
        "event_type": "posting.observed",
        "occurred_at": _iso(observed_at),
        "source": src,
        "posting": posting,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:24]
    event = {"version": 1, "event_id": f"{src}-{digest}", **body}
    try:
        PostingEventV1.model_validate(event)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"]) or "event"
        raise RowError(f"{where}: {error['msg']}") from None
    return event


def observed_at_of(path: Path) -> datetime:
    """When a file's rows were observed: its modification time (whole seconds, UTC).

    Re-importing the same file yields the same events; a new scrape is a new observation.
    """
    return datetime.fromtimestamp(int(path.stat().st_mtime), UTC)


def _salary(row: Mapping[str, object]) -> dict[str, Any] | None:
    low, high = _amount(row, "min_amount"), _amount(row, "max_amount")
    if low is None and high is None:
        return None
    interval = _text(row.get("interval"))
    if interval is None:
        # JobSpy writes amounts only with an interval; without one they cannot be annualized.
        return None
    period = INTERVALS.get(interval.lower())
    if period is None:
        raise RowError(f"interval {interval!r} is not one of {', '.join(INTERVALS)}")
    currency = (_text(row.get("currency")) or "USD").upper()
    return {"min": low, "max": high, "currency": currency, "period": period}


def _amount(row: Mapping[str, object], column: str) -> float | None:
    value = row.get(column)
    if isinstance(value, bool):
        raise RowError(f"{column} {value!r} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _text(value)
        if text is None:
            return None
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise RowError(f"{column} {text!r} is not a number") from None
    if math.isnan(number):
        return None
    if math.isinf(number):
        raise RowError(f"{column} is infinite")
    return number


def _text(value: object) -> str | None:
    """A cell as text; None for an empty cell or pandas' NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value)
    return text is not None and text.lower() in {"true", "1", "yes"}


def _job_type(value: object) -> str | None:
    text = _text(value)
    if text is None:
        return None
    kinds = [JOB_TYPES.get(part.strip().lower(), part.strip()) for part in text.split(",")]
    return ", ".join(kind for kind in kinds if kind)[:200] or None


def _posted_at(value: object, observed_at: datetime) -> str | None:
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _text(value)
        if text is None:
            return None
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return None  # an unreadable date loses the date, not the posting
    at = datetime(day.year, day.month, day.day, tzinfo=UTC)
    # A posting cannot have been posted after it was seen; such a date is a board's glitch.
    if not 2000 <= day.year <= 2999 or at > observed_at + timedelta(days=1):
        return None
    return _iso(at)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
