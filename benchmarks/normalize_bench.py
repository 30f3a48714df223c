"""Normalization cost per event on the evaluation set, against the unavoidable decode cost.

    python benchmarks/normalize_bench.py [--rounds 200]

Baseline: `json.loads` + `PostingEventV1.model_validate` of the same event bytes (what every
consumer pays before normalizing). Measured: `Normalizer.normalize` of the validated event.
Each event is timed on its own with `perf_counter_ns`; rounds alternate baseline/normalize so
both see the same machine noise, and the ratio of medians is the figure that travels between
machines. "warm" is the steady state (titles repeat, so the title caches are hot); "cold" times
the first pass of a fresh `Normalizer` over events it has never seen.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rolepulse.domain.normalize import Normalizer  # noqa: E402
from rolepulse.schema.events import PostingEventV1  # noqa: E402
from rolepulse.taxonomy import load_taxonomy  # noqa: E402

EVAL_SET = ROOT / "tests" / "eval" / "postings.jsonl"
TARGET_MEDIAN_US = 50.0


def event_bytes() -> list[bytes]:
    lines = EVAL_SET.read_bytes().splitlines()
    return [json.dumps(json.loads(line)["event"]).encode() for line in lines if line.strip()]


def time_each(items: Sequence[object], work: Callable[[object], object], out: list[int]) -> None:
    clock = time.perf_counter_ns
    for item in items:
        start = clock()
        work(item)
        out.append(clock() - start)


def summary(name: str, samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    median = statistics.median(ordered) / 1000
    p95 = ordered[int(0.95 * (len(ordered) - 1))] / 1000
    print(f"{name:<34} median {median:8.1f} µs   p95 {p95:8.1f} µs   n={len(ordered)}")
    return median, p95


def decode(raw: object) -> PostingEventV1:
    assert isinstance(raw, bytes)
    return PostingEventV1.model_validate(json.loads(raw))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    taxonomy = load_taxonomy()
    raws = event_bytes()
    events = [decode(raw) for raw in raws]
    cold: list[int] = []
    time_each(events, Normalizer(taxonomy).normalize, cold)  # type: ignore[arg-type]
    normalizer = Normalizer(taxonomy)
    baseline: list[int] = []
    warm: list[int] = []
    for _ in range(args.rounds):
        time_each(raws, decode, baseline)
        time_each(events, normalizer.normalize, warm)  # type: ignore[arg-type]
    print(f"{len(events)} evaluation events x {args.rounds} rounds")
    base_median, _ = summary("baseline: json.loads + validate", baseline)
    warm_median, _ = summary("normalize (warm)", warm)
    summary("normalize (cold, first pass)", cold)
    print(f"ratio normalize/baseline (medians): {warm_median / base_median:.2f}x")
    verdict = "ok" if warm_median <= TARGET_MEDIAN_US else "MISSED"
    print(f"target median <= {TARGET_MEDIAN_US:.0f} µs: {verdict}")


if __name__ == "__main__":
    main()
