"""Every evaluation posting's normalization against a recorded copy, field by field.

`tests/eval/normalized.golden.jsonl` holds the role, seniority, skills, metro and work mode the
normalizer gave each event of `tests/eval/*.jsonl` when it was made faster (issue 11): a
speed-up must change none of them, including the skills of the sets that label none. A change
of the rules changes some on purpose: rerun this file as a script
(`.venv/bin/python tests/unit/domain/test_normalize_golden.py`) and review the diff. Pay and
company are left out: the evaluation tests hold their scores, and their figures move with
their own data (the ECB's rates, cleanco's legal forms).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rolepulse.domain.model import NormalizedPosting
from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"
GOLDEN = EVAL_DIR / "normalized.golden.jsonl"


def fields(posting: NormalizedPosting) -> list[object]:
    return [
        posting.role,
        posting.seniority.value,
        list(posting.skills),
        posting.metro,
        posting.work_mode.value,
    ]


def normalized() -> dict[str, list[object]]:
    """`"<file>:<event_id>"` -> fields, for every event the normalizer accepts."""
    normalizer = Normalizer(load_taxonomy())
    found: dict[str, list[object]] = {}
    for path in sorted(EVAL_DIR.glob("*.jsonl")):
        if path == GOLDEN:
            continue
        for line in path.read_bytes().splitlines():
            if line.strip():
                event = PostingEventV1.model_validate(json.loads(line)["event"])
                key = f"{path.name}:{event.event_id}"
                found[key] = fields(normalizer.normalize(event))
    return found


def test_normalization_matches_the_recorded_copy() -> None:
    recorded = {
        record["case"]: record["fields"]
        for record in map(json.loads, GOLDEN.read_text().splitlines())
    }
    actual = normalized()
    assert actual.keys() == recorded.keys()
    changed = [case for case in actual if actual[case] != recorded[case]]
    assert not changed, [(case, recorded[case], actual[case]) for case in changed[:5]]


def main() -> None:
    lines = [json.dumps({"case": case, "fields": value}) for case, value in normalized().items()]
    GOLDEN.write_text("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases to {GOLDEN}", file=sys.stderr)


if __name__ == "__main__":
    main()
