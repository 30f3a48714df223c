"""Roles from titles, and from descriptions only for generic titles; non-AI traps stay null."""

from typing import Any

import pytest

from rolepulse.domain.normalize import Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

NORMALIZER = Normalizer(load_taxonomy())

LLM_WORK = (
    "You will build LLM-powered features end to end: retrieval-augmented generation over "
    "customer documents, prompt design, evaluation pipelines and fine-tuning experiments."
)
AI_BOILERPLATE = (
    "We are an AI company building large language models that benefit humanity. You will "
    "build reliable payment flows, reconcile invoices and integrate payment processors."
)


def role_of(title: str, description: str | None = None, **posting: Any) -> str | None:
    fields = {"source_id": "1", "title": title, "company": "Acme", "description": description}
    event = PostingEventV1.model_validate(
        {
            "version": 1,
            "event_id": "e-1",
            "event_type": "posting.observed",
            "occurred_at": "2026-11-20T10:00:00Z",
            "source": "lever",
            "posting": fields | posting,
        }
    )
    return NORMALIZER.normalize(event).role


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("Software Engineer", "ai-software-engineer"),
        ("Senior Backend Engineer", "ai-software-engineer"),
        ("Full Stack Developer", "ai-software-engineer"),
        ("Founding Engineer", "ai-software-engineer"),
        ("Product Manager", "ai-product-manager"),
        ("Senior Product Manager, Platform", "ai-product-manager"),
    ],
)
def test_generic_title_takes_role_from_an_ai_description(title: str, role: str) -> None:
    assert role_of(title, LLM_WORK) == role
    assert role_of(title, None) is None


@pytest.mark.parametrize(
    ("title", "description"),
    [
        ("Software Engineer, Payments", AI_BOILERPLATE),
        ("Software Engineer, Payments", LLM_WORK),  # the title names a non-AI domain
        ("Product Manager, Checkout", AI_BOILERPLATE),
        ("Product Manager, Checkout", LLM_WORK),
        ("Software Engineer", AI_BOILERPLATE),
        ("Sales Development Representative", LLM_WORK),
        ("Vice President, Retail Sales", LLM_WORK),
        ("Account Executive, AI Platform", LLM_WORK),
        ("Technical Recruiter, AI/ML", LLM_WORK),
        ("Marketing Manager, Generative AI", LLM_WORK),
        ("Technical Program Manager, AI Infrastructure", LLM_WORK),
        ("Solutions Engineer, Generative AI", LLM_WORK),
        ("Data Engineer", LLM_WORK),
        ("Site Reliability Engineer", LLM_WORK),
        ("Customer Success Manager, AI", LLM_WORK),
        ("AI Trainer - Software Engineering (Freelance)", LLM_WORK),
        ("LLM Data Annotator", LLM_WORK),
        ("Software Engineer", "Experience with LLMs is a plus. You will build billing APIs."),
    ],
)
def test_non_ai_titles_stay_null(title: str, description: str) -> None:
    assert role_of(title, description) is None


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("Deep Learning Engineer", "ai-ml-engineer"),
        ("Head of Machine Learning", "ai-ml-engineer"),
        ("Software Engineer III, Machine Learning", "ai-ml-engineer"),
        ("GenAI Engineer", "llm-engineer"),
        ("Agentic AI Developer", "ai-agent-developer"),
        ("Prompt Engineering Specialist", "prompt-engineer"),
        ("ML Platform Engineer", "mlops-engineer"),
        ("Applied Scientist", "research-scientist"),
        ("Research Software Engineer", "research-engineer"),
        ("Director, Data Science", "data-scientist"),
        ("Product Owner - AI Platform", "ai-product-manager"),
        ("Computational Linguist", "nlp-engineer"),
        ("Perception Engineer", "computer-vision-engineer"),
    ],
)
def test_title_rules(title: str, role: str) -> None:
    # The description cannot override a title that names its role.
    assert role_of(title, AI_BOILERPLATE) == role


@pytest.mark.parametrize(
    ("title", "description", "role"),
    [
        # A named model is LLM evidence: GPT-4 + prompts + large language models.
        (
            "Software Engineer",
            "Our features use GPT-4 for feedback. You will build the prompt pipelines and ship "
            "features on top of large language models.",
            "ai-software-engineer",
        ),
        # Two different AI concepts in the work itself are enough.
        (
            "Product Manager",
            "You will improve our retrieval-augmented generation pipeline and need depth in LLMs.",
            "ai-product-manager",
        ),
    ],
)
def test_description_evidence_from_two_concepts(title: str, description: str, role: str) -> None:
    assert role_of(title, description) == role
