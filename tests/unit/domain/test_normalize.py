from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.domain.normalize import NormalizationError, Normalizer
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

# Rates as of one day, whatever the day: pay parsing is tested here, rates by date in
# tests/unit/taxonomy/test_fx.py (the ECB's).
RATES = {"EUR": 1.16, "GBP": 1.31, "CAD": 0.71, "AUD": 0.65, "INR": 0.0112, "SGD": 0.77}
NORMALIZER = Normalizer(load_taxonomy(rates=lambda currency, day: RATES.get(currency)))


def event(event_type: str = "posting.observed", **posting: Any) -> PostingEventV1:
    fields = {"source_id": "123", "title": "AI Engineer", "company": "Acme"} | posting
    return PostingEventV1.model_validate(
        {
            "version": 1,
            "event_id": "e-1",
            "event_type": event_type,
            "occurred_at": "2026-11-20T10:00:00Z",
            "source": "greenhouse",
            "posting": fields,
        }
    )


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("AI Software Engineer", "ai-software-engineer"),
        ("Senior AI Engineer", "ai-software-engineer"),
        ("Software Engineer, Generative AI", "ai-software-engineer"),
        ("Machine Learning Engineer", "ai-ml-engineer"),
        ("Staff Software Engineer, Machine Learning", "ai-ml-engineer"),
        ("LLM Engineer", "llm-engineer"),
        ("AI Agent Developer", "ai-agent-developer"),
        ("Prompt Engineer", "prompt-engineer"),
        ("MLOps Engineer", "mlops-engineer"),
        ("Research Engineer, AI", "research-engineer"),
        ("Research Scientist", "research-scientist"),
        ("Data Scientist", "data-scientist"),
        ("AI Product Manager", "ai-product-manager"),
        ("Product Manager, AI Platform", "ai-product-manager"),
        ("Director of AI Product", "ai-product-manager"),
        ("NLP Engineer", "nlp-engineer"),
        ("Computer Vision Engineer", "computer-vision-engineer"),
        ("Vice President, Retail Sales", None),
        ("Software Engineer, Payments", None),
        ("Product Manager, Checkout", None),
        ("Sales Development Representative", None),
        ("Software Engineer", None),
        ("Email Marketing Manager", None),
        ("AI Sales Engineer", None),
    ],
)
def test_role_from_title(title: str, role: str | None) -> None:
    assert NORMALIZER.normalize(event(title=title)).role == role


@pytest.mark.parametrize(
    ("title", "label", "seniority"),
    [
        ("Sr. AI Engineer", None, Seniority.SENIOR),
        ("Senior Data Scientist", None, Seniority.SENIOR),
        ("Staff ML Engineer", None, Seniority.LEAD),
        ("Principal Research Scientist", None, Seniority.LEAD),
        ("Lead Prompt Engineer", None, Seniority.LEAD),
        ("Senior Staff Engineer, AI", None, Seniority.LEAD),
        ("Junior Data Scientist", None, Seniority.ENTRY),
        ("Jr. ML Engineer", None, Seniority.ENTRY),
        ("Machine Learning Engineer, New Grad", None, Seniority.ENTRY),
        ("AI Research Intern", None, Seniority.ENTRY),
        ("Entry-Level Data Scientist", None, Seniority.ENTRY),
        ("Associate Product Manager, AI", None, Seniority.ENTRY),
        ("Head of AI Product", None, Seniority.EXECUTIVE),
        ("Senior Director, Machine Learning", None, Seniority.EXECUTIVE),
        ("VP of Product", None, Seniority.EXECUTIVE),
        ("Vice President, Retail Sales", None, Seniority.EXECUTIVE),
        ("Chief AI Officer", None, Seniority.EXECUTIVE),
        ("AI Engineer", None, Seniority.MID),
        ("Member of Technical Staff", None, Seniority.MID),
        ("AI Research Resident", None, Seniority.ENTRY),
        ("AI Engineer", "Senior", Seniority.SENIOR),
        ("AI Engineer", "Entry level", Seniority.ENTRY),
        ("AI Engineer", "Mid-Senior level", Seniority.MID),
        ("Senior AI Engineer", "Internship", Seniority.SENIOR),
    ],
)
def test_seniority_from_title_then_label(
    title: str, label: str | None, seniority: Seniority
) -> None:
    assert NORMALIZER.normalize(event(title=title, seniority=label)).seniority == seniority


def test_description_never_sets_seniority() -> None:
    posting = NORMALIZER.normalize(event(description="Work with senior and staff engineers."))
    assert posting.seniority is Seniority.MID


@pytest.mark.parametrize(
    ("description", "skills"),
    [
        ("We leverage trust, storage and fragments; dragons", ()),
        ("RAG with retrieval-augmented generation", ("RAG",)),
        ("Rust, not trust or rusty code", ("Rust",)),
        ("k8s and Kubernetes", ("Kubernetes",)),
        ("Amazon Web Services (AWS)", ("AWS",)),
        ("GPT-4, GPT-4o and the OpenAI API", ("OpenAI",)),
        ("Anthropic Claude models", ("Claude",)),
        ("C++, C#, .NET and Node.js", ("C++", "C#", ".NET", "Node.js")),
        ("Java and JavaScript", ("Java", "JavaScript")),
        ("Go/Golang services", ("Go",)),
        ("services written in Go.", ("Go",)),
        ("Python, Go, Rust", ("Python", "Go", "Rust")),
        ("Ready to go? Let's go! Go team.", ()),
        ("MySQL and NoSQL stores", ("SQL",)),
        (
            "Prompt engineering and fine-tuning with PyTorch",
            ("Prompt Engineering", "Fine-tuning", "PyTorch"),
        ),
        ("ML Ops on GCP, Azure and Salesforce", ("MLOps", "GCP", "Azure", "Salesforce")),
        ("ML models; ml is lower case", ("Machine Learning",)),
        ("Docker, DOCKER and docker", ("Docker",)),
    ],
)
def test_skills_match_whole_words_and_aliases(description: str, skills: tuple[str, ...]) -> None:
    posting = NORMALIZER.normalize(event(title="Engineer", description=description))
    assert posting.skills == skills


def test_skills_come_from_title_first_then_description() -> None:
    posting = NORMALIZER.normalize(event(title="Python Engineer", description="Rust and Python"))
    assert posting.skills == ("Python", "Rust")


@pytest.mark.parametrize(
    ("company", "canonical"),
    [
        ("Amazon.com Services LLC", "Amazon"),
        ("Amazon.com", "Amazon"),
        ("Google LLC", "Google"),
        ("geico", "GEICO"),
        ("Accenture LLP", "Accenture"),
        ("Apple Inc.", "Apple"),
        ("Intuit Inc", "Intuit"),
        ("  Acme Robotics,  Inc. ", "Acme Robotics"),
        ("Foo GmbH", "Foo"),
        ("Bar Holdings plc", "Bar Holdings"),
        ("JPMorgan Chase & Co.", "JPMorgan Chase"),
    ],
)
def test_company_canonical_name(company: str, canonical: str) -> None:
    assert NORMALIZER.normalize(event(company=company)).company == canonical


@pytest.mark.parametrize(
    ("location", "remote", "metro", "mode"),
    [
        ("SF Bay Area", None, "San Francisco", WorkMode.ONSITE),
        ("San Francisco, CA", None, "San Francisco", WorkMode.ONSITE),
        ("NYC", None, "New York", WorkMode.ONSITE),
        ("New York, NY", None, "New York", WorkMode.ONSITE),
        ("LA", None, "Los Angeles", WorkMode.ONSITE),
        ("Bangalore, Karnataka, India", None, "Bengaluru", WorkMode.ONSITE),
        ("Portland, OR", None, "Portland", WorkMode.ONSITE),
        ("Remote", None, None, WorkMode.REMOTE),
        ("Remote - US", None, None, WorkMode.REMOTE),
        ("New York, NY or Remote", None, "New York", WorkMode.REMOTE),
        ("San Francisco, CA (Hybrid)", None, "San Francisco", WorkMode.HYBRID),
        ("Seattle, WA", True, "Seattle", WorkMode.REMOTE),
        ("Remote", False, None, WorkMode.ONSITE),
        (None, None, None, WorkMode.UNKNOWN),
        ("United States", None, None, WorkMode.UNKNOWN),
    ],
)
def test_metro_and_work_mode(
    location: str | None, remote: bool | None, metro: str | None, mode: WorkMode
) -> None:
    posting = NORMALIZER.normalize(event(location=location, remote=remote))
    assert (posting.metro, posting.work_mode) == (metro, mode)


def test_remote_in_title_is_remote() -> None:
    posting = NORMALIZER.normalize(event(title="AI Engineer (Remote)", location="Austin, TX"))
    assert (posting.metro, posting.work_mode) == ("Austin", WorkMode.REMOTE)


def test_full_posting() -> None:
    posting = NORMALIZER.normalize(
        event(
            title="  Senior   AI Engineer ",
            company="Accenture LLP",
            location="San Francisco, CA",
            description="RAG pipelines in Python on AWS",
            salary_text="$140K–$249K",
            url="https://example.com/1",
        )
    )
    assert posting.posting_key == "greenhouse:123"
    assert (posting.title, posting.role, posting.seniority) == (
        "Senior AI Engineer",
        "ai-software-engineer",
        Seniority.SENIOR,
    )
    assert posting.skills == ("RAG", "Python", "AWS")
    assert posting.salary is not None
    assert (posting.salary.annual_min_usd, posting.salary.annual_max_usd) == (140_000, 249_000)
    assert (posting.salary.source, posting.flags, posting.url) == (
        "text",
        (),
        "https://example.com/1",
    )


def test_structured_salary_wins_over_text() -> None:
    posting = NORMALIZER.normalize(
        event(
            salary={"min": 65, "max": 90, "currency": "USD", "period": "hour"},
            salary_text="$1 - $2",
        )
    )
    assert posting.salary is not None
    assert (posting.salary.annual_min_usd, posting.salary.annual_max_usd) == (135_200, 187_200)
    assert posting.salary.source == "structured"


def test_pay_from_the_description_only_when_the_board_gave_none() -> None:
    pay_sentence = "The base salary range for this role is $100,000 - $150,000 + equity."
    posting = NORMALIZER.normalize(event(description=pay_sentence, location="Toronto, ON"))
    assert posting.salary is not None
    # A bare "$" in Toronto is CAD (0.71 USD), as for salary text.
    assert (posting.salary.annual_min_usd, posting.salary.annual_max_usd) == (71_000, 106_500)
    assert posting.salary.source == "description"
    # Any pay field, even one without figures, outranks the description.
    stated = NORMALIZER.normalize(event(description=pay_sentence, salary_text="Competitive"))
    assert stated.salary is None


@pytest.mark.parametrize(
    "salary",
    [
        {"min": 5, "max": 9, "currency": "USD", "period": "year"},
        {"min": 200_000, "max": 100_000, "currency": "USD", "period": "year"},
        {"min": 3_000, "max": 4_000, "currency": "USD", "period": "hour"},
    ],
)
def test_implausible_salary_is_kept_and_flagged(salary: dict[str, Any]) -> None:
    posting = NORMALIZER.normalize(event(salary=salary))
    assert posting.salary is not None
    assert posting.flags == ("salary_implausible",)


@pytest.mark.parametrize("text", ["Competitive", "DOE", "Negotiable"])
def test_unparseable_salary_is_none_not_an_error(text: str) -> None:
    posting = NORMALIZER.normalize(event(salary_text=text))
    assert (posting.salary, posting.flags) == (None, ())


def test_unknown_currency_is_flagged() -> None:
    posting = NORMALIZER.normalize(
        event(salary={"min": 1, "max": 2, "currency": "XXX", "period": "year"})
    )
    assert (posting.salary, posting.flags) == (None, ("salary_currency_unknown",))


def test_pay_converts_at_the_posting_date_else_the_observation_date() -> None:
    days: list[date] = []

    def recording(currency: str, day: date) -> float:
        days.append(day)
        return 1.2

    normalizer = Normalizer(load_taxonomy(rates=recording))
    pay = {"min": 100_000, "max": 100_000, "currency": "EUR", "period": "year"}
    # An offset that crosses midnight: the day is UTC's.
    posted = event(salary=pay, posted_at="2026-03-01T23:30:00-05:00")
    assert normalizer.normalize(posted).salary is not None
    unposted = event(salary=pay)  # observed 2026-11-20T10:00:00Z
    salary = normalizer.normalize(unposted).salary
    assert salary is not None
    assert salary.annual_min_usd == 120_000
    assert days == [date(2026, 3, 2), date(2026, 11, 20)]
    # USD needs no rate at all.
    normalizer.normalize(event(salary=pay | {"currency": "USD"}))
    assert len(days) == 2


def test_closed_event_cannot_be_normalized() -> None:
    closed = event("posting.closed", title=None, company=None)
    with pytest.raises(NormalizationError, match=r"posting\.closed"):
        NORMALIZER.normalize(closed)


def test_blank_title_is_an_error() -> None:
    with pytest.raises(NormalizationError):
        NORMALIZER.normalize(event(title="   "))


@pytest.mark.parametrize(
    ("location", "currency"),
    [
        ("Toronto, ON", "CAD"),
        ("Sydney NSW 2000", "AUD"),
        ("Remote - Australia", "AUD"),
        ("Singapore", "SGD"),
        ("Austin, TX", "USD"),
        (None, "USD"),
    ],
)
def test_bare_dollar_follows_the_location(location: str | None, currency: str) -> None:
    posting = NORMALIZER.normalize(event(location=location, salary_text="$100,000 - $120,000"))
    assert posting.salary is not None
    assert posting.salary.currency == currency


@pytest.mark.parametrize(
    ("title", "location", "key"),
    [
        ("Sr. ML Eng", "SF Bay Area", "Acme|machine learning engineer|San Francisco"),
        ("Senior Machine Learning Engineer", "San Francisco, CA", None),
        ("Machine Learning Engineer II (Contract)", "San Francisco", None),
        ("Staff SWE, GenAI", "Remote", "Acme|software engineer genai|remote"),
        (
            "Jr. NLP Engineer - New Grad",
            "NYC",
            "Acme|natural language processing engineer|New York",
        ),
    ],
)
def test_cluster_key(title: str, location: str, key: str | None) -> None:
    posting = NORMALIZER.normalize(event(title=title, location=location, company="Acme Inc."))
    expected = key or "Acme|machine learning engineer|San Francisco"
    assert NORMALIZER.cluster_key(posting) == expected


def test_cluster_key_needs_company_and_title() -> None:
    posting = NORMALIZER.normalize(event())
    assert NORMALIZER.cluster_key(replace(posting, company=None)) is None
    assert NORMALIZER.cluster_key(replace(posting, title="Senior (Remote)")) is None
