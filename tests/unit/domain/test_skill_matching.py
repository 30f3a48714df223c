"""Skills on word boundaries: ambiguous words only in context, nothing inside other words."""

import pytest

from rolepulse.domain.skills import SkillMatcher
from rolepulse.taxonomy import load_taxonomy

SKILLS = SkillMatcher(load_taxonomy().skills)


@pytest.mark.parametrize(
    ("text", "skills"),
    [
        ("We leverage trust, storage, fragments, scalable Scalability and goals.", ()),
        ("Python or Go", ("Python", "Go")),
        ("You will write Go and Python services.", ("Go", "Python")),
        ("Our backend is written in Go: 2,500 microservices.", ("Go",)),
        ("Work in Python and Go with Kafka.", ("Python", "Go", "Kafka")),
        ("Go-to-market teams. Go beyond. Support go-live.", ()),
        ("Go build something great.", ()),
        ("Build AI agents and agentic workflows.", ("AI Agents",)),
        ("Coach customer support agents and contact center agents.", ()),
        ("Deploy models on AWS SageMaker and AWS Bedrock.", ("AWS", "SageMaker", "Bedrock")),
        ("Amazon Bedrock and Amazon SageMaker.", ("Bedrock", "SageMaker")),
        ("The bedrock of our culture.", ()),
        ("GraphQL backends and REST APIs.", ("REST APIs",)),
        ("Machine vision inspection.", ("Computer Vision",)),
        ("React and Next.js; react quickly to incidents.", ("React",)),
        ("A spark of curiosity.", ()),
        ("PySpark and Apache Spark jobs.", ("Spark",)),
    ],
)
def test_skills_in_context(text: str, skills: tuple[str, ...]) -> None:
    assert SKILLS.find("", text) == skills


@pytest.mark.parametrize(
    "word",
    [
        "leverage",
        "storage",
        "trust",
        "frustrated",
        "scalable",
        "javascripting",
        "Google",
        "Gorilla",
    ],
)
def test_no_skill_inside_another_word(word: str) -> None:
    assert SKILLS.find("", f"We {word} daily.") == ()


@pytest.mark.parametrize(
    ("text", "agents"),
    [
        ("We roll out AI-assisted replies for our agents.", True),
        ("You will support 60 customer support agents. We roll out replies for our agents.", False),
        ("Our contact centre agents use macros; agents handle refunds.", False),
        # A literal alias is never vetoed: "AI agents" for customer service are still AI Agents.
        ("Human agents hand off to our AI agents for customer service.", True),
        ("You will build agents on our platform.", True),
    ],
)
def test_customer_service_agents_are_not_ai_agents(text: str, agents: bool) -> None:
    assert ("AI Agents" in SKILLS.find("", text)) is agents
