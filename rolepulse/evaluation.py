"""Scoring normalizations against hand-labelled expectations (pure: no I/O).

The evaluation set is JSON lines of `{"event": <posting event v1>, "expected": {...}}`; see
`tests/eval/postings.jsonl`. Salary is compared on the annual USD range that aggregates would
use: a salary flagged implausible is kept out of salary figures, so it scores as "no pay".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from rolepulse.domain.model import NormalizedPosting
from rolepulse.schema.events import PostingEventV1

SALARY_TOLERANCE: Final = 0.03
# Field -> minimum score; the targets, checked by the unit test and the CLI's exit code.
TARGETS: Final[Mapping[str, float]] = {
    "role": 0.95,
    "skills_f1": 0.95,
    "salary_within_3pct": 0.95,
    "company": 0.95,
    "metro": 0.95,
}
EXACT_FIELDS: Final = ("role", "seniority", "company", "metro", "work_mode")
_IMPLAUSIBLE = "salary_implausible"


class PostingNormalizer(Protocol):
    def normalize(self, event: PostingEventV1) -> NormalizedPosting: ...


@dataclass(frozen=True, slots=True)
class Expected:
    """What a careful human says one posting normalizes to (None where there is none)."""

    role: str | None
    seniority: str
    skills: frozenset[str]
    company: str | None
    metro: str | None
    work_mode: str
    annual_min_usd: int | None
    annual_max_usd: int | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Expected:
        return cls(
            role=data["role"],
            seniority=data["seniority"],
            skills=frozenset(data["skills"]),
            company=data["company"],
            metro=data["metro"],
            work_mode=data["work_mode"],
            annual_min_usd=data["annual_min_usd"],
            annual_max_usd=data["annual_max_usd"],
        )


@dataclass(frozen=True, slots=True)
class Miss:
    case: str  # event_id of the evaluation line
    field: str
    expected: object
    actual: object


@dataclass(frozen=True, slots=True)
class EvalReport:
    cases: int
    accuracy: Mapping[str, float]  # exact-match share per field in EXACT_FIELDS
    skills_precision: float  # micro-averaged over all (posting, skill) pairs
    skills_recall: float
    skills_f1: float
    salary_cases: int  # postings whose expected pay is disclosed and plausible
    salary_within: float  # share of those with both annual ends within SALARY_TOLERANCE
    salary_false_positives: int  # pay reported where the label says there is none
    misses: tuple[Miss, ...]

    def scores(self) -> dict[str, float]:
        """Every headline figure by name, the keys of TARGETS included."""
        return dict(self.accuracy) | {
            "skills_precision": self.skills_precision,
            "skills_recall": self.skills_recall,
            "skills_f1": self.skills_f1,
            "salary_within_3pct": self.salary_within,
        }

    def failed_targets(self) -> dict[str, float]:
        """Targets this report misses, with the score reached."""
        scores = self.scores()
        return {name: scores[name] for name, target in TARGETS.items() if scores[name] < target}


Case = tuple[str, NormalizedPosting | None, Expected]


def evaluate(cases: Sequence[Case]) -> EvalReport:
    """Score (case id, normalization or None when it failed, expectation) triples."""
    misses: list[Miss] = []
    hits = dict.fromkeys(EXACT_FIELDS, 0)
    true_pos = false_pos = false_neg = 0
    salary_cases = salary_ok = salary_fp = 0
    for case, actual, expected in cases:
        for field in EXACT_FIELDS:
            got = _field(actual, field)
            if got == getattr(expected, field):
                hits[field] += 1
            else:
                misses.append(Miss(case, field, getattr(expected, field), got))
        found = frozenset(actual.skills) if actual is not None else frozenset()
        true_pos += len(found & expected.skills)
        false_pos += len(found - expected.skills)
        false_neg += len(expected.skills - found)
        if found != expected.skills:
            extra, missing = sorted(found - expected.skills), sorted(expected.skills - found)
            misses.append(Miss(case, "skills", f"missing {missing}", f"extra {extra}"))
        got_pay = _annual(actual)
        want_pay = (expected.annual_min_usd, expected.annual_max_usd)
        if want_pay[0] is not None or want_pay[1] is not None:
            salary_cases += 1
            if got_pay is not None and _within(got_pay, want_pay):
                salary_ok += 1
            else:
                misses.append(Miss(case, "salary", want_pay, got_pay))
        elif got_pay is not None:
            salary_fp += 1
            misses.append(Miss(case, "salary", None, got_pay))
    count = len(cases)
    precision = _ratio(true_pos, true_pos + false_pos)
    recall = _ratio(true_pos, true_pos + false_neg)
    return EvalReport(
        cases=count,
        accuracy={field: _ratio(hits[field], count) for field in EXACT_FIELDS},
        skills_precision=precision,
        skills_recall=recall,
        skills_f1=_ratio(2 * precision * recall, precision + recall),
        salary_cases=salary_cases,
        salary_within=_ratio(salary_ok, salary_cases),
        salary_false_positives=salary_fp,
        misses=tuple(misses),
    )


def evaluate_file(lines: Iterable[bytes], normalizer: PostingNormalizer) -> EvalReport:
    """Normalize every `{"event", "expected"}` line and score the results.

    An event the normalizer rejects scores as a miss on every field; a malformed line raises
    `ValueError` (the evaluation set itself is broken, which no score should hide).
    """
    cases: list[Case] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
            event = PostingEventV1.model_validate(record["event"])
            expected = Expected.from_json(record["expected"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"evaluation line {number}: {exc}") from exc
        try:
            actual: NormalizedPosting | None = normalizer.normalize(event)
        except ValueError:  # NormalizationError: nothing to score
            actual = None
        cases.append((event.event_id, actual, expected))
    return evaluate(cases)


def format_report(report: EvalReport) -> str:
    """A per-field table (score, target, verdict) followed by every miss."""
    lines = [f"evaluated {report.cases} postings ({report.salary_cases} with disclosed pay)", ""]
    lines.append(f"{'field':<20} {'score':>7} {'target':>7}")
    for name, score in report.scores().items():
        target = TARGETS.get(name)
        verdict = "" if target is None else ("  ok" if score >= target else "  MISSED")
        shown = "" if target is None else f"{target:.0%}"
        lines.append(f"{name:<20} {score:>7.1%} {shown:>7}{verdict}")
    lines.append(f"{'salary false pos.':<20} {report.salary_false_positives:>7}")
    lines += ["", f"misses ({len(report.misses)}):"]
    lines += [
        f"  {m.case} {m.field}: expected {m.expected!r}, got {m.actual!r}" for m in report.misses
    ]
    return "\n".join(lines)


def _field(posting: NormalizedPosting | None, field: str) -> str | None:
    if posting is None:
        return None
    value = getattr(posting, field)
    return None if value is None else str(value)


def _annual(posting: NormalizedPosting | None) -> tuple[int, int] | None:
    if posting is None or posting.salary is None or _IMPLAUSIBLE in posting.flags:
        return None
    return posting.salary.annual_min_usd, posting.salary.annual_max_usd


def _within(got: tuple[int, int], want: tuple[int | None, int | None]) -> bool:
    return all(
        expected is not None and abs(actual - expected) <= SALARY_TOLERANCE * expected
        for actual, expected in zip(got, want, strict=True)
    )


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0
