"""Skills on word boundaries: ambiguous words only in context, nothing inside other words."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rolepulse.domain.skills import SkillMatcher, WordFinder
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
        ("GraphQL backends and REST APIs.", ("GraphQL", "REST APIs")),
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


# The generated taxonomy holds hundreds of technology names (issue 11 part 3); none may fire on
# the ordinary English of a posting's benefits, culture and process paragraphs.
ORDINARY_ENGLISH = [
    "We are a swift, agile team: a spark of curiosity and the drive to excel every day.",
    "You will have access to our gym, a chef who cooks lunch, and a puppet theatre for kids.",
    "Write clear Word documents and Excel reports; present to the board with grace.",
    "Ruby, our office dog, will greet you; Julia from HR will walk you through the process.",
    "Join a crystal-clear mission: we go above and beyond, act with pride and move fast.",
    "Benefits include medical, dental, vision, a 401(k) match, and paid parental leave.",
    "You will lead the scheme, own the pipeline of candidates, and make the case to execs.",
    "Our mission is to help people find homes; the role reports to the head of operations.",
    "The ideal candidate is curious, humble, and eager to learn; travel up to 25% required.",
    "Reason clearly, assemble the facts, and shape the outcome with our partners in Paris.",
    "We value logic, elegance, pure focus and a bold vision for what comes next.",
    "Pick up the slack, jump on a call, and see the big picture with a growth mindset.",
]


@pytest.mark.parametrize("sentence", ORDINARY_ENGLISH)
def test_ordinary_english_names_no_skill(sentence: str) -> None:
    assert SKILLS.find("", sentence) == ()


@pytest.mark.parametrize(
    ("text", "skills"),
    [
        ("Experience with Kotlin, Redis and Elasticsearch.", ("Kotlin", "Redis", "Elasticsearch")),
        ("Dashboards in Grafana; services on FastAPI.", ("Grafana", "FastAPI")),
        ("Ansible and MongoDB in production.", ("Ansible", "MongoDB")),
    ],
)
def test_generated_technology_skills_match(text: str, skills: tuple[str, ...]) -> None:
    assert SKILLS.find("", text) == skills


def test_the_taxonomy_has_hundreds_of_skills_with_aliases() -> None:
    taxonomy = load_taxonomy()
    assert len(taxonomy.skills) >= 500
    assert sum(len(s.aliases) for s in taxonomy.skills) >= 800


FINDER = WordFinder(["machine learning", "learning", "ml", "c++", "node.js", "f*"])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("machine learning and ml", [(0, "machine learning"), (21, "ml")]),
        ("deep learning; html, mlops", [(5, "learning")]),
        ("c++ and node.js, not c+++ or node.jsx", [(0, "c++"), (8, "node.js")]),
        ("machine-learning\nml", [(0, "machine-learning"), (17, "ml")]),
        ("f* ml", [(0, "f*"), (3, "ml")]),
    ],
)
def test_words_are_found_whole_left_to_right_longest_first(
    text: str, found: list[tuple[int, str]]
) -> None:
    assert FINDER.find(text) == found
    assert FINDER.words(text) == [word for _, word in found]
    assert FINDER.find(text + " é") == found  # text beyond ASCII takes the other scan


def test_a_letter_beyond_ascii_is_part_of_the_word() -> None:
    assert FINDER.find("éml ml") == [(4, "ml")]
    assert FINDER.words("mlé ml") == ["ml"]


def longest_first(words: list[str]) -> re.Pattern[str]:
    """The plain definition: any word, longest first, on the same boundaries."""
    ordered = sorted(words, key=len, reverse=True)
    alternatives = "|".join(re.escape(word).replace(r"\ ", r"[\s-]") for word in ordered)
    return re.compile(rf"(?<![\w+#])(?:{alternatives})(?![\w+#]|\.\w)")


# "(x)" starts on a boundary right where "f*" may end: that finder cannot use the ASCII scan.
@pytest.mark.parametrize("words", [["ml", "machine learning", "f*", "a/b"], ["f*", "(x)", "ml"]])
@given(text=st.text(alphabet="machine l-+#_.*/()xfé\n", max_size=40))
def test_the_finder_agrees_with_a_longest_first_alternation(words: list[str], text: str) -> None:
    oracle = longest_first(words)
    expected = [(match.start(), match.group()) for match in oracle.finditer(text)]
    assert WordFinder(words).find(text) == expected
