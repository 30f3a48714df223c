"""Scoring normalizations against labels, and the issue's targets on the hand-labelled set."""

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from rolepulse.domain.model import NormalizedPosting, NormalizedSalary, Seniority, WorkMode
from rolepulse.domain.normalize import Normalizer
from rolepulse.evaluation import TARGETS, Expected, evaluate, evaluate_file, format_report
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
