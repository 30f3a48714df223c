"""Synthetic posting events for the ingest benchmark: fast, deterministic, schema-valid v1.

Posting `i` is a pure function of (seed, i), so a re-observation regenerates the very posting it
observes again, with a later `occurred_at` and a new event id. Companies are drawn from ~10,800
made-up names, so cluster keys (company | title | metro) are mostly distinct, as in a real
market; every 50th posting is the previous job posted again on another board (one cluster).
Titles come from the demo market's vocabulary; `PROBE_ROLE` titles are left out, so the freshness
mode can count its probe events through that role alone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from rolepulse.demo import vocab
from rolepulse.demo.render import SOURCES, stamp

# Event times lie in the past (a consumer may reject times ahead of the wall clock), 2 s apart:
# 1,000,000 postings span 23 days.
BASE = datetime(2026, 9, 1, tzinfo=UTC)
STEP = timedelta(seconds=2)
CROSS_POST_EVERY = 50
PROBE_ROLE = "prompt-engineer"
PROBE_TITLE = "Prompt Engineer"

_ADJECTIVES = [
    "Blue",
    "Bright",
    "North",
    "Silver",
    "Quiet",
    "Rapid",
    "Clear",
    "Golden",
    "Harbor",
    "Summit",
    "Maple",
    "Cedar",
    "Iron",
    "Crystal",
    "Evergreen",
    "Granite",
    "Lunar",
    "Solar",
    "Prairie",
    "Coastal",
    "Vivid",
    "Noble",
    "Urban",
    "Atlas",
    "Pioneer",
    "Beacon",
    "Canyon",
    "Delta",
    "Falcon",
    "Orchard",
]
_NOUNS = [
    "Ridge",
    "Field",
    "Stone",
    "Bridge",
    "River",
    "Peak",
    "Grove",
    "Anchor",
    "Point",
    "Valley",
    "Forge",
    "Works",
    "Path",
    "Gate",
    "Bay",
    "Crest",
    "Hollow",
    "Meadow",
    "Brook",
    "Lane",
    "Street",
    "Tower",
    "Square",
    "Mill",
    "Port",
    "Spring",
    "Wharf",
    "Yard",
    "Haven",
    "Vista",
]
_KINDS = [
    "Analytics",
    "Health",
    "Logistics",
    "Financial",
    "Systems",
    "Robotics",
    "Retail",
    "Energy",
    "Media",
    "Insurance",
    "Foods",
    "Mobility",
]
_AI_TITLES = tuple(
    title
    for role, levels in vocab.TITLES.items()
    if role != PROBE_ROLE
    for titles in levels.values()
    for title in titles
)
_METROS = tuple(vocab.LOCATIONS)
_SKILLS = tuple(vocab.SKILL_PHRASES)


def _fields(seed: int, i: int) -> dict[str, object]:
    """What posting `i` is: company, title, place, pay and text (no ids, no times)."""
    rng = random.Random(seed * 1_000_003 + i)
    company = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {rng.choice(_KINDS)}"
    ai = rng.random() < 0.9
    title = rng.choice(_AI_TITLES) if ai else rng.choice(vocab.NON_AI_TITLES)
    metro = rng.choice(_METROS) if rng.random() < 0.8 else None
    location = rng.choice(vocab.LOCATIONS[metro]) if metro else rng.choice(vocab.REMOTE_LOCATIONS)
    skills = [rng.choice(vocab.SKILL_PHRASES[s]) for s in rng.sample(_SKILLS, rng.randint(2, 4))]
    description = " ".join(
        [
            rng.choice(vocab.DEFAULT_INTROS),
            rng.choice(vocab.SKILL_SENTENCES).format(skills=", ".join(skills)),
            f"{company} builds products for customers across {metro or 'North America'}.",
            rng.choice(vocab.CLOSINGS),
        ]
    ).strip()
    low = rng.randrange(90, 260) * 1000
    high = low + rng.randrange(20, 120) * 1000
    pay = rng.random()
    salary = {"min": low, "max": high, "currency": "USD", "period": "year"} if pay < 0.65 else None
    text = f"${low // 1000}K–${high // 1000}K" if 0.65 <= pay < 0.8 else None
    return {
        "company": company,
        "title": title,
        "location": location,
        "remote": metro is None,
        "description": description,
        "salary": salary,
        "salary_text": text,
        "source": SOURCES[rng.randrange(len(SOURCES))],
    }


def posting_event(seed: int, i: int, at_index: int | None = None, observation: int = 0) -> bytes:
    """Observation number `observation` of posting `i`, dated as the `at_index`-th event."""
    fields = _fields(seed, i)
    source = str(fields.pop("source"))
    if i % CROSS_POST_EVERY == CROSS_POST_EVERY - 1:
        # The previous job, posted again on another board: same company, title and place.
        original = _fields(seed, i - 1)
        for key in ("company", "title", "location", "remote"):
            fields[key] = original[key]
        source = SOURCES[(SOURCES.index(str(original["source"])) + 1) % len(SOURCES)]
    at = BASE + STEP * (i if at_index is None else at_index)
    # A board's posting date stays what it was when the job went up, on every re-observation.
    fields["posted_at"] = stamp(BASE + STEP * i - timedelta(days=1))
    return _event(seed, i, observation, at, source, fields)


def probe_event(seed: int, n: int, at_index: int) -> bytes:
    """The `n`-th freshness probe: the only `PROBE_ROLE` posting, its company unique."""
    fields = _fields(seed, 10_000_000 + n)
    fields.pop("source")
    fields.update(title=PROBE_TITLE, company=f"Probe {n:07d} Labs")
    fields["posted_at"] = stamp(BASE + STEP * at_index - timedelta(days=1))
    return _event(seed, 10_000_000 + n, 0, BASE + STEP * at_index, "careers-page", fields)


def _event(
    seed: int, i: int, observation: int, at: datetime, source: str, fields: dict[str, object]
) -> bytes:
    posting = {
        "source_id": f"{seed}-{i:08d}",
        "url": f"https://jobs.example.com/{source}/{seed}-{i:08d}",
        **fields,
        "seniority": None,
        "employment_type": "Full-time",
    }
    event = {
        "version": 1,
        "event_id": f"bench-{seed}-{i}-{observation}",
        "event_type": "posting.observed",
        "occurred_at": stamp(at),
        "source": source,
        "posting": posting,
    }
    return json.dumps(event, separators=(",", ":")).encode()


def stream(
    seed: int, sizes: list[int], window: int, modes: set[str]
) -> tuple[list[tuple[str, int, int, int]], Iterator[bytes]]:
    """The events of a throughput run, and its measured windows.

    New postings fill the store up to each size; there, a window of `window` new postings
    (mode "throughput") and/or `window` re-observations of stored postings ("reobserve") is
    published. Windows are (mode, stored postings, first event, end event), positions counted
    from the start of the topic.
    """
    windows: list[tuple[str, int, int, int]] = []
    plan: list[tuple[str, int, int]] = []  # ("new", first posting, end) or ("again", stored, n)
    stored = position = 0
    for size in sorted(sizes):
        if size > stored:
            plan.append(("new", stored, size))
            position += size - stored
            stored = size
        if "throughput" in modes:
            windows.append(("new", stored, position, position + window))
            plan.append(("new", stored, stored + window))
            position += window
            stored += window
        if "reobserve" in modes:
            windows.append(("reobserve", stored, position, position + window))
            plan.append(("again", stored, window))
            position += window

    def events() -> Iterator[bytes]:
        at = 0
        for kind, a, b in plan:
            if kind == "new":
                for i in range(a, b):
                    yield posting_event(seed, i, at, 0)
                    at += 1
                continue
            for i in random.Random(seed + a).sample(range(a), min(b, a)):
                yield posting_event(seed, i, at, observation=at)
                at += 1

    return windows, events()
