"""The `seed-page` demo market: a feed whose figures reproduce the published seed page exactly.

For AI Software Engineer and AI Product Manager every figure of the seed page (the published
comparison page the project started from: open positions, disclosed pay n, salary range,
p25/median/average/p75 on basis MAX, remote share, experience mix, top-8 skills, top companies,
top metros) holds after normalization, lifecycle and
aggregation. Filler postings of the other ten roles bring the market to 26,159 open AI positions;
non-AI postings, closed postings, re-observations and verbatim redeliveries exercise the pipeline
without moving any figure. Same seed, same events: only `random.Random(seed)` draws.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from rolepulse.demo import feed
from rolepulse.demo.plans import RoleSpec, exact_plans, loose_plan, non_ai_plan
from rolepulse.demo.render import HOURS_PER_YEAR
from rolepulse.demo.salaries import Pay, PayForm, SalaryTarget
from rolepulse.domain.model import Seniority
from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

Event = dict[str, object]
H = HOURS_PER_YEAR
S = Seniority

AI_SOFTWARE_ENGINEER = RoleSpec(
    role="ai-software-engineer",
    open=598,
    seniority={S.ENTRY: 12, S.MID: 257, S.SENIOR: 244, S.LEAD: 79, S.EXECUTIVE: 6},
    remote=48,
    metros={
        "San Francisco": 190,
        "Los Angeles": 118,
        "New York": 96,
        "Seattle": 38,
        "Austin": 30,
        "Boston": 26,
        "Chicago": 18,
        "Denver": 12,
        "Atlanta": 10,
        "Washington": 6,
        "Dallas": 4,
        "Pittsburgh": 2,
    },
    companies={
        "Accenture": 112,
        "Google": 60,
        "Google LLC": 14,
        "Apple": 20,
        "Apple Inc.": 6,
        "GEICO": 18,
    },
    tail_cap=8,
    skills={
        "RAG": 318,
        "Python": 301,
        "Rust": 262,
        "Kubernetes": 231,
        "AWS": 205,
        "Docker": 187,
        "Claude": 164,
        "OpenAI": 143,
        "PyTorch": 121,
        "TypeScript": 96,
        "LangChain": 88,
        "Terraform": 64,
        "SQL": 51,
    },
    salary=SalaryTarget(
        n=518,
        mean_min=140_000,
        mean_max=249_000,
        p25=203_000,
        median=235_000,
        p75=300_000,
        low=110_000,
        high=460_000,
        min_floor=80_000,
        ratio=(0.45, 0.65),
    ),
    fixed_pays=(
        Pay(60 * H, 85 * H, PayForm.HOUR),
        Pay(70 * H, 100 * H, PayForm.HOUR),
        Pay(85 * H, 120 * H, PayForm.HOUR),
        Pay(110 * H, 150 * H, PayForm.HOUR),
        Pay(65 * H, 90 * H, PayForm.TEXT_HOUR),
        Pay(220_000, 220_000, PayForm.TEXT_UP_TO),
    ),
)

AI_PRODUCT_MANAGER = RoleSpec(
    role="ai-product-manager",
    open=594,
    seniority={S.ENTRY: 12, S.MID: 350, S.SENIOR: 162, S.LEAD: 62, S.EXECUTIVE: 8},
    remote=107,
    metros={
        "New York": 160,
        "San Francisco": 118,
        "Los Angeles": 52,
        "Seattle": 44,
        "Boston": 34,
        "Austin": 28,
        "Chicago": 20,
        "Denver": 12,
        "Atlanta": 9,
        "Washington": 6,
        "Dallas": 3,
        "Pittsburgh": 1,
    },
    companies={
        "Amazon.com": 45,
        "Amazon.com Services LLC": 34,
        "Google": 21,
        "Intuit": 12,
        "Intuit Inc.": 4,
    },
    tail_cap=7,
    skills={
        "RAG": 287,
        "Rust": 254,
        "AWS": 226,
        "Python": 198,
        "Prompt Engineering": 176,
        "GCP": 151,
        "Salesforce": 133,
        "Azure": 117,
        "SQL": 98,
        "OpenAI": 84,
        "Claude": 72,
        "LangChain": 41,
    },
    salary=SalaryTarget(
        n=475,
        mean_min=134_000,
        mean_max=194_000,
        p25=165_000,
        median=200_000,
        p75=243_000,
        low=95_000,
        high=360_000,
        min_floor=75_000,
        ratio=(0.6, 0.8),
    ),
    fixed_pays=(
        Pay(55 * H, 80 * H, PayForm.HOUR),
        Pay(70 * H, 95 * H, PayForm.HOUR),
        Pay(60 * H, 75 * H, PayForm.TEXT_HOUR),
        Pay(180_000, 180_000, PayForm.TEXT_UP_TO),
    ),
)

# Open postings of the other ten roles: with the two roles above, 26,159 open AI positions.
FILLER_OPEN = {
    "ai-ml-engineer": 6120,
    "data-scientist": 5480,
    "research-scientist": 2890,
    "llm-engineer": 2210,
    "mlops-engineer": 1930,
    "research-engineer": 1760,
    "computer-vision-engineer": 1540,
    "nlp-engineer": 1290,
    "ai-agent-developer": 1105,
    "prompt-engineer": 642,
}
CLOSED = {
    "ai-software-engineer": 45,
    "ai-product-manager": 40,
    "ai-ml-engineer": 120,
    "data-scientist": 110,
    "llm-engineer": 50,
    "research-scientist": 40,
}
NON_AI_OPEN, NON_AI_CLOSED = 380, 25
SHAPE = feed.FeedShape(reobserved=700, duplicated=330, cross_posted=400)
OPEN_AI_TOTAL = AI_SOFTWARE_ENGINEER.open + AI_PRODUCT_MANAGER.open + sum(FILLER_OPEN.values())


def generate(seed: int = 7) -> list[Event]:
    """Posting events v1 as JSON-ready dicts, in feed order; deterministic for `seed`."""
    rng = random.Random(seed)
    open_plans = exact_plans(AI_SOFTWARE_ENGINEER, rng) + exact_plans(AI_PRODUCT_MANAGER, rng)
    open_plans += [loose_plan(role, rng) for role, n in FILLER_OPEN.items() for _ in range(n)]
    open_plans += [non_ai_plan(rng) for _ in range(NON_AI_OPEN)]
    closed_plans = [loose_plan(role, rng) for role, n in CLOSED.items() for _ in range(n)]
    closed_plans += [non_ai_plan(rng) for _ in range(NON_AI_CLOSED)]
    return feed.build(open_plans, closed_plans, SHAPE, rng, _cluster_key())


def _cluster_key() -> feed.ClusterKey:
    """The normalizer's cluster key, so boards are assigned the way the consumer will see jobs."""
    normalizer = Normalizer(load_taxonomy())

    def key(source: str, body: Event) -> str | None:
        event = PostingEventV1.model_validate(
            {"version": 1, "event_id": "draft", "event_type": "posting.observed",
             "occurred_at": "2026-11-01T00:00:00Z", "source": source, "posting": body}
        )  # fmt: skip
        return normalizer.cluster_key(normalizer.normalize(event))

    return key


SCENARIOS: dict[str, Callable[[int], list[Event]]] = {"seed-page": generate}
