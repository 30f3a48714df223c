"""Scoring normalizations against labels, and the issue's targets on the hand-labelled set."""

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from rolepulse.domain.model import NormalizedPosting, NormalizedSalary, Seniority, WorkMode
from rolepulse.domain.normalize import Normalizer
from rolepulse.evaluation import (
    REAL_TEXT_TARGETS,
    TARGETS,
    Expected,
    evaluate,
    evaluate_file,
    format_report,
)
from rolepulse.taxonomy import load_taxonomy

EVAL_SET = Path(__file__).resolve().parents[1] / "eval" / "postings.jsonl"
# Written independently of the rules above; never tuned on, only checked against.
HOLDOUT_SET = EVAL_SET.with_name("holdout.jsonl")

EXPECTED = Expected(
    role="llm-engineer",
    seniority="senior",
    skills=frozenset({"Python", "RAG"}),
    company="Acme",
    metro="London",
    work_mode="onsite",
    annual_min_usd=100_000,
    annual_max_usd=200_000,
)
SALARY = NormalizedSalary(100_000, 200_000, "USD", "year", 100_000, 200_000, "text")
POSTING = NormalizedPosting(
    posting_key="lever:1",
    source="lever",
    source_id="1",
    title="Senior LLM Engineer",
    role="llm-engineer",
    seniority=Seniority.SENIOR,
    skills=("Python", "RAG"),
    company="Acme",
    metro="London",
    work_mode=WorkMode.ONSITE,
    salary=SALARY,
)


def test_a_perfect_normalization_scores_one_everywhere() -> None:
    report = evaluate([("a", POSTING, EXPECTED)])
    assert set(report.scores().values()) == {1.0}
    assert (report.misses, report.failed_targets()) == ((), {})


def test_misses_are_listed_per_field() -> None:
    wrong = replace(POSTING, role=None, metro="Paris", skills=("Python", "Rust"))
    report = evaluate([("a", wrong, EXPECTED), ("b", POSTING, EXPECTED)])
    assert report.accuracy["role"] == report.accuracy["metro"] == 0.5
    assert {(m.case, m.field) for m in report.misses} == {
        ("a", "role"),
        ("a", "metro"),
        ("a", "skills"),
    }
    # 3 true positives, 1 false positive ("Rust"), 1 false negative ("RAG").
    assert (report.skills_precision, report.skills_recall) == (0.75, 0.75)


@pytest.mark.parametrize(
    ("annual", "within"),
    [((103_000, 194_000), True), ((104_000, 200_000), False), ((100_000, 206_500), False)],
)
def test_salary_counts_within_three_percent_on_both_ends(
    annual: tuple[int, int], within: bool
) -> None:
    salary = replace(SALARY, annual_min_usd=annual[0], annual_max_usd=annual[1])
    report = evaluate([("a", replace(POSTING, salary=salary), EXPECTED)])
    assert report.salary_within == (1.0 if within else 0.0)


def test_an_implausible_salary_scores_as_no_pay() -> None:
    flagged = replace(POSTING, flags=("salary_implausible",))
    no_pay = replace(EXPECTED, annual_min_usd=None, annual_max_usd=None)
    assert evaluate([("a", flagged, no_pay)]).salary_false_positives == 0
    assert evaluate([("a", POSTING, no_pay)]).salary_false_positives == 1
    assert evaluate([("a", flagged, EXPECTED)]).salary_within == 0.0


def test_a_failed_normalization_misses_every_field() -> None:
    report = evaluate([("a", None, EXPECTED)])
    assert set(report.accuracy.values()) == {0.0}
    assert report.failed_targets().keys() == TARGETS.keys()


def test_a_malformed_line_is_an_error_not_a_score() -> None:
    with pytest.raises(ValueError, match="line 1"):
        evaluate_file([b'{"event": {}}'], Normalizer(load_taxonomy()))


def test_targets_hold_on_the_hand_labelled_set() -> None:
    with EVAL_SET.open("rb") as lines:
        report = evaluate_file(lines, Normalizer(load_taxonomy()))
    assert report.cases >= 220
    assert report.failed_targets() == {}, format_report(report)


def test_targets_hold_on_the_holdout_set() -> None:
    with HOLDOUT_SET.open("rb") as lines:
        report = evaluate_file(lines, Normalizer(load_taxonomy()))
    assert report.cases >= 95
    assert report.failed_targets() == {}, format_report(report)
    # Work mode has no issue target; the holdout showed descriptions are where it is stated.
    assert report.accuracy["work_mode"] >= 0.95, format_report(report)


def test_report_shows_the_table_and_the_misses() -> None:
    text = format_report(evaluate([("case-7", replace(POSTING, metro="Paris"), EXPECTED)]))
    assert "metro" in text
    assert "MISSED" in text
    assert "case-7 metro: expected 'London', got 'Paris'" in text


def test_the_evaluation_set_covers_every_role_with_valid_labels() -> None:
    taxonomy = load_taxonomy()
    records = [json.loads(line) for line in EVAL_SET.read_bytes().splitlines() if line.strip()]
    roles = Counter(r["expected"]["role"] for r in records)
    assert all(roles[slug] >= 8 for slug in taxonomy.roles), roles
    assert set(roles) - {None} <= set(taxonomy.roles)
    skill_names = {skill.name for skill in taxonomy.skills}
    assert all(set(r["expected"]["skills"]) <= skill_names for r in records)
    lengths = [len(r["event"]["posting"]["description"]) for r in records]
    assert min(lengths) >= 300
    assert max(lengths) <= 2500


REAL_TEXT_SET = EVAL_SET.with_name("real_text.jsonl")
# Board text written after the issue-11 rules and never tuned on (tests/eval/README.md). Its
# first run's scores are floors, not targets: a regression fails, a fix raises them.
REAL_TEXT_HOLDOUT = EVAL_SET.with_name("real_text_holdout.jsonl")
REAL_TEXT_HOLDOUT_FIRST_RUN = {
    "ai_f1": 0.992,  # 136 / 137
    "role_ai": 0.985,  # 68 / 69
    "seniority_ai": 1.0,  # 69 / 69
    "work_mode": 0.937,  # 149 / 159
    "metro": 0.981,  # 156 / 159
    "salary_within_3pct": 0.980,  # 149 / 152
}


def test_ai_or_not_precision_recall_and_scores_on_ai_postings() -> None:
    not_ai = replace(EXPECTED, role=None, seniority="mid")
    cases = [
        ("tp", POSTING, EXPECTED),
        ("fp", POSTING, not_ai),  # a role where the label has none
        ("fn", replace(POSTING, role=None), EXPECTED),
        ("tn", replace(POSTING, role=None, seniority=Seniority.MID), not_ai),
    ]
    report = evaluate(cases)
    assert (report.ai_cases, report.ai_precision, report.ai_recall) == (2, 0.5, 0.5)
    assert report.ai_f1 == 0.5
    # Role and seniority "on AI postings" count only the cases labelled with a role.
    assert (report.role_ai, report.seniority_ai) == (0.5, 1.0)


def test_unlabelled_skills_and_unknown_work_modes_are_left_out() -> None:
    unlabelled = replace(EXPECTED, skills=None, work_mode="unknown")
    report = evaluate([("a", replace(POSTING, skills=("Rust",)), unlabelled)])
    assert report.skills_cases == 0
    assert "skills_f1" not in report.scores()
    assert report.work_mode_stated == 0.0  # no label states one
    assert report.failed_targets(REAL_TEXT_TARGETS) == {"work_mode": 0.0}


def test_an_event_the_contract_rejects_is_scored_as_a_miss_and_listed() -> None:
    event = {
        "version": 1,
        "event_id": "x-1",
        "event_type": "posting.observed",
        "occurred_at": "2026-11-20T10:00:00Z",
        "source": "indeed",
        "posting": {"source_id": "1", "company": "Acme"},  # no title
    }
    label = {
        "role": "llm-engineer",
        "seniority": "mid",
        "skills": None,
        "company": "Acme",
        "metro": None,
        "work_mode": "unknown",
        "annual_min_usd": None,
        "annual_max_usd": None,
    }
    line = json.dumps({"event": event, "expected": label}).encode()
    report = evaluate_file([line], Normalizer(load_taxonomy()))
    assert report.rejected == (
        ("x-1", "invalid event: event: Value error, posting.observed requires posting.title"),
    )
    assert report.ai_recall == 0.0
    assert "rejected (1):" in format_report(report)


def test_issue_11_targets_hold_on_the_real_text_set() -> None:
    """Board text as scraped (issue 11); its first-run scores are in tests/eval/README.md."""
    with REAL_TEXT_SET.open("rb") as lines:
        report = evaluate_file(lines, Normalizer(load_taxonomy()))
    assert report.cases >= 300
    assert report.cases - report.ai_cases > report.ai_cases  # mostly not AI, as a real feed
    assert report.failed_targets(REAL_TEXT_TARGETS) == {}, format_report(report, REAL_TEXT_TARGETS)
    assert not report.rejected, report.rejected


def test_the_real_text_holdout_keeps_its_first_run_scores() -> None:
    with REAL_TEXT_HOLDOUT.open("rb") as lines:
        report = evaluate_file(lines, Normalizer(load_taxonomy()))
    assert report.cases >= 150
    assert report.cases - report.ai_cases > report.ai_cases  # mostly not AI, as a real feed
    assert report.failed_targets(REAL_TEXT_TARGETS) == {}, format_report(report, REAL_TEXT_TARGETS)
    floors = REAL_TEXT_HOLDOUT_FIRST_RUN
    assert report.failed_targets(floors) == {}, format_report(report, floors)
    assert not report.rejected, report.rejected


@pytest.mark.parametrize("path", [REAL_TEXT_SET, REAL_TEXT_HOLDOUT], ids=lambda path: path.stem)
def test_the_real_text_sets_have_valid_labels(path: Path) -> None:
    taxonomy = load_taxonomy()
    records = [json.loads(line) for line in path.read_bytes().splitlines() if line]
    roles = {r["expected"]["role"] for r in records} - {None}
    assert roles <= set(taxonomy.roles)
    assert {r["expected"]["seniority"] for r in records} <= {s.value for s in Seniority}
    assert {r["expected"]["work_mode"] for r in records} <= {m.value for m in WorkMode}
    assert {r["event"]["source"] for r in records} == {
        "indeed",
        "linkedin",
        "greenhouse",
        "lever",
        "workday",
    }
    assert len({r["event"]["event_id"] for r in records}) == len(records)
