"""The rules issue 11 added for board text as scraped, each with its labelled cases.

Cases marked `real-NNN` are postings of tests/eval/real_text.jsonl (labelled before any of these
rules existed); the others are the same conventions written small.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from rolepulse.domain.model import Seniority, WorkMode
from rolepulse.domain.normalize import Normalizer
from rolepulse.domain.places import board_mode, work_mode
from rolepulse.schema.events import PostingEventV1
from rolepulse.taxonomy import load_taxonomy

# Pay parsing at one day's rates (INR 0.0112 USD); rates by date: tests/unit/taxonomy/test_fx.py.
NORMALIZER = Normalizer(load_taxonomy(rates=lambda currency, day: {"INR": 0.0112}.get(currency)))
COMMITTED = Path(__file__).parents[3] / "schema" / "posting-event-v1.schema.json"


def event(**posting: Any) -> PostingEventV1:
    fields = {"source_id": "1", "title": "AI Engineer", "company": "Acme"} | posting
    return PostingEventV1.model_validate(
        {
            "version": 1,
            "event_id": "e-1",
            "event_type": "posting.observed",
            "occurred_at": "2026-11-20T10:00:00Z",
            "source": "indeed",
            "posting": fields,
        }
    )


# ---- work mode: the board's own fields and tags ----


@pytest.mark.parametrize(
    ("description", "mode"),
    [
        # real-001: Indeed's block, with a plain city as the location.
        ("Job Type: Full-time\n\nWork Location: Hybrid remote in Fremont, CA 94539", "hybrid"),
        ("Schedule:\n* Monday to Friday\n\nWork Location: Remote", "remote"),
        ("Work Location: In person", "onsite"),
        ("Work Location: On the road", "onsite"),
        ("Work Location: Remote - must reside in California.", "remote"),
        ("Work Location Assignment: Hybrid", "hybrid"),  # (Pfizer)
        ("Work Requirement: Hybrid", "hybrid"),  # (State Street)
        ("Build models.\n\n#LI-Hybrid", "hybrid"),
        ("US based applicants only\n\n#LI-REMOTE\n#LI-NM4", "remote"),
        ("Compensation: ...\n\n#LI-Onsite", "onsite"),
        # Boilerplate about other postings is no field value (real-200, Booz Allen).
        ("Work Model: If this position is listed as remote or hybrid, you'll work ...", None),
        ("#LI-DNI #LI-AB1", None),  # recruiter tags say nothing of the job
        ("Our network of work teams: great.", None),
    ],
)
def test_board_fields_and_tags(description: str, mode: str | None) -> None:
    stated = board_mode(description)
    assert (stated.value if stated else None) == mode


def test_board_fields_outrank_the_location_and_yield_to_an_explicit_remote_false() -> None:
    hybrid = "Work Location: Hybrid remote in Tampa, FL 33607"
    assert work_mode(False, "Tampa, FL", "Director of AI", "Tampa", hybrid) is WorkMode.HYBRID
    remote = "Work Location: Remote"
    assert work_mode(False, "Tampa, FL", "AI Engineer", "Tampa", remote) is WorkMode.ONSITE
    assert work_mode(True, "Tampa, FL", "AI Engineer", "Tampa", hybrid) is WorkMode.REMOTE


def test_indeeds_hybrid_remote_location_is_hybrid() -> None:
    location = "Hybrid remote in Seattle, WA 98101"
    assert work_mode(None, location, "ML Engineer", "Seattle", "") is WorkMode.HYBRID


@pytest.mark.parametrize(
    ("description", "mode"),
    [
        ("Work-At-Home Requirements: this is a remote position.", "remote"),
        ("Your Location: This position is US - Remote Eligible.", "remote"),
        ("Work Arrangement: this role is remote eligible, with in-person events.", "remote"),
        ("This role is not remote eligible.", None),
        ("You'll enjoy the flexibility to work remotely from anywhere within the U.S.", "remote"),
        ("We work in-office 2 days a week.", "hybrid"),  # (Chime)
        ("Associates are in-office 1 - 2 days per week, fostering collaboration.", "hybrid"),
        ("Team members work in the office 2-3 days per week.", "hybrid"),
        ("This position will operate as a Hybrid/Flex for Your Day work arrangement.", "hybrid"),
        ("We use hybrid search over vector indexes.", None),
    ],
)
def test_description_statements_of_the_arrangement(description: str, mode: str | None) -> None:
    got = work_mode(None, "Chicago, IL", "Data Scientist", "Chicago", description)
    assert got.value == (mode or "onsite")


# ---- metro: board location conventions ----


@pytest.mark.parametrize(
    ("location", "metro"),
    [
        ("US-CA-San Jose", "San Francisco"),  # (Workday)
        ("US-IL-Chicago", "Chicago"),
        ("USA - Texas - Dallas", "Dallas"),
        ("USA - Minnesota - Eagan", "Minneapolis"),  # a suburb takes its metro
        ("USA - New York, NY", "New York"),
        ("US-NV-Las Vegas", "Las Vegas"),
        ("2 Locations", None),
        ("Hybrid - 3 days in office - Austin, TX", "Austin"),
        ("Fremont, CA 94539", "San Francisco"),  # : the ZIP code says no more
        ("Fremont, CA, US", "San Francisco"),  # JobSpy's "City, ST, US"
        ("Rockville, MD 20850", "Washington DC"),
        ("Remote in Texas", None),  # : a state is no metro
        ("Remote in Ohio", None),
        ("San Francisco, CA • New York, NY", "San Francisco"),
        ("New York, NY", "New York"),
        ("Washington, DC", "Washington DC"),
    ],
)
def test_location_conventions(location: str, metro: str | None) -> None:
    assert NORMALIZER.normalize(event(location=location)).metro == metro


# ---- roles: leaders, managers, corporate and consulting titles ----


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("Director of AI", "ai-software-engineer"),  # real-002
        ("Director, Artificial Intelligence", "ai-software-engineer"),  # real-003
        ("Head of AI", "ai-software-engineer"),
        ("Chief AI Officer", "ai-software-engineer"),  # real-025
        ("Managing Director, Head of Artificial Intelligence", "ai-software-engineer"),  # real-074
        ("VP, AI & Data, Strategy, Product, and Architecture", "ai-software-engineer"),  # real-240
        ("Head of Generative AI", "llm-engineer"),  # real-242
        ("Sr. Manager, Gen AI Software Engineering", "llm-engineer"),  # real-192
        ("Director of AI Research", "research-scientist"),  # real-243
        ("Research Intern, AI", "research-scientist"),  # real-239
        ("Sr. Manager, Machine Learning", "ai-ml-engineer"),  # real-110
        ("Director, Artificial Intelligence & Machine Learning", "ai-ml-engineer"),  # real-241
        ("Machine Learning Intern", "ai-ml-engineer"),  # real-237
        ("Director of Machine Learning", "ai-ml-engineer"),  # real-133, as before
        ("VP of Data Science", "data-scientist"),  # real-015, as before
        ("Director, AI Product Management", "ai-product-manager"),  # real-112, as before
        ("Applied AI ML Associate - Machine Learning Engineer", "ai-ml-engineer"),  # real-068
        # Not AI roles, whatever AI they name:
        ("Vice President, AI/ML Vendor Risk & Contract Management", None),  # real-067
        ("Fractional CTO - Cloud & AI Operations (AWS/GPU, Computer Vision)", None),  # real-100
        ("Head of AI Partnerships", None),  # real-257
        ("Director, Data & AI Governance", None),  # real-263
        ("Director of AI Sales", None),  # real-258
        ("Senior Partner Manager, Generative AI", None),  # holdout-090
        ("Manager, AI Enablement", None),  # real-261
        ("Chief of Staff to the CEO", None),  # real-124
        ("Chief Technology Officer", None),
    ],
)
def test_title_roles(title: str, role: str | None) -> None:
    assert NORMALIZER.normalize(event(title=title)).role == role


HIRING_NOTE = (
    "Candidates may not use generative AI tools such as ChatGPT during live interviews "
    "unless the interviewer says otherwise."
)


@pytest.mark.parametrize(
    ("company", "description", "role"),
    [
        # real-165, real-273, real-277: hiring boilerplate is no evidence about the job.
        ("Gusto", f"Build Rails features for benefits enrollment.\n\n{HIRING_NOTE}", None),
        # real-256: the company's blurb is no evidence about the job either.
        (
            "Mistral AI",
            "Mistral AI builds frontier AI models and Le Chat, our AI assistant.\n\n"
            "We are hiring a Software Engineer to build internal tools for sales and finance.",
            None,
        ),
        (
            "Mistral AI",
            "About Mistral AI: frontier AI models.\n\nYou will build the LLM serving layer, "
            "evaluation harnesses and RAG pipelines behind Le Chat.",
            "ai-software-engineer",
        ),
        # real-148 (Sierra): the job's own work is about LLMs.
        (
            "Sierra",
            "You'll build the agent SDK, our LLM orchestration layer, evaluation and "
            "simulation tools.",
            "ai-software-engineer",
        ),
    ],
)
def test_generic_titles_take_evidence_only_from_the_jobs_own_sentences(
    company: str, description: str, role: str | None
) -> None:
    posting = event(title="Software Engineer", company=company, description=description)
    assert NORMALIZER.normalize(posting).role == role


@pytest.mark.parametrize(
    ("title", "seniority"),
    [
        # Managers of engineers and scientists lead.
        ("ML Engineering Manager", "lead"),
        ("Manager, Machine Learning Engineering", "lead"),  # real-030
        ("Engineering Manager, Applied AI", "lead"),  # real-131
        ("Manager, Data Science", "lead"),
        ("Sr. Manager, Machine Learning", "lead"),  # real-110
        ("Senior Manager, AI Engineering", "lead"),  # real-114
        ("Senior Manager, Data Science", "lead"),  # real-087
        ("Engineering Manager, Payments Platform", "lead"),  # eval-173, relabelled
        # A product or program manager manages no one.
        ("Product Manager, AI", "mid"),
        ("Senior Product Manager, AI", "senior"),
        ("Technical Program Manager, AI", "mid"),
        # Banks' grades beside a job title, and beside a function.
        ("Applied AI/ML Engineer Lead, Vice President", "lead"),  # real-066
        ("Vice President - Data Scientist", "senior"),  # real-071
        ("Machine Learning Engineer - AVP", "senior"),  # real-069
        ("Data Scientist, Assistant Vice President", "senior"),  # real-212
        ("AVP, Data Scientist", "senior"),  # real-211
        ("Associate, Machine Learning Engineer", "mid"),  # real-072
        ("Applied AI ML Associate - Machine Learning Engineer", "mid"),  # real-068
        ("Executive Director - AI Engineering Lead", "lead"),  # real-070
        ("Vice President, Software Engineer", "senior"),  # real-230
        ("Vice President, Applied AI Engineering", "executive"),  # real-209
        ("Senior Vice President, Generative AI Engineering", "executive"),  # real-073
        ("Managing Director, Head of Artificial Intelligence", "executive"),  # real-074
        ("VP, Data Science", "executive"),  # real-085
        ("VP of Data Science", "executive"),  # real-015
        ("Associate Data Scientist", "entry"),  # a level word, not a grade
        ("Associate Machine Learning Engineer", "entry"),  # real-201
        # Consulting firms' grades.
        ("AI Engineer - Senior Consultant", "senior"),  # real-075
        ("Generative AI Engineer - Manager", "lead"),  # real-076
        ("Consultant - Machine Learning Engineer", "mid"),  # real-249
        ("Machine Learning Engineer, Senior Associate", "senior"),  # real-079
        ("Manager, AI Engineering", "lead"),  # real-251
    ],
)
def test_title_seniority(title: str, seniority: str) -> None:
    assert NORMALIZER.normalize(event(title=title)).seniority is Seniority(seniority)


# ---- postings without a company ----


def test_a_posting_without_a_company_is_accepted_with_company_null() -> None:
    posting = NORMALIZER.normalize(event(company=None, title="Machine Learning Engineer"))
    assert (posting.company, posting.role) == (None, "ai-ml-engineer")
    assert NORMALIZER.cluster_key(posting) is None  # it joins no cross-board cluster
    blank = NORMALIZER.normalize(event(company="   "))
    assert blank.company is None


def test_the_contract_takes_an_observation_without_a_company() -> None:
    body = {
        "version": 1,
        "event_id": "e-1",
        "event_type": "posting.observed",
        "occurred_at": "2026-11-20T10:00:00Z",
        "source": "indeed",
        "posting": {"source_id": "1", "title": "AI Engineer"},
    }
    PostingEventV1.model_validate(body)
    jsonschema.validate(body, json.loads(COMMITTED.read_text()))
    with pytest.raises(jsonschema.ValidationError, match="title"):
        jsonschema.validate(
            body | {"posting": {"source_id": "1"}}, json.loads(COMMITTED.read_text())
        )


# ---- pay written in the description ----


@pytest.mark.parametrize(
    ("description", "location", "annual"),
    [
        # real-001: Indeed's "Pay:" line.
        (
            "Job Type: Full-time\n\nPay: $150,000.00 - $190,000.00 per year",
            "Fremont, CA",
            (150_000, 190_000),
        ),
        ("Pay: $22.00 - $28.00 per hour", "Ohio", (45_760, 58_240)),
        ("Pay: up to $40 per hour, depending on project.", None, (83_200, 83_200)),  # real-340
        # Greenhouse's and JPMorgan's pay headings, the figures on the next line.
        ("Annual Salary:\n$340,000—$425,000 USD", None, (340_000, 425_000)),  # real-127
        ("Base Pay/Salary\nNew York,NY $190,000.00 - $270,000.00 / year", None, (190_000, 270_000)),
        (
            "The typical pay range for this role is:\n$114,400.00 - $244,500.00",
            None,
            (114_400, 244_500),
        ),
        # A range on a line of its own, or a place's range.
        ("US based applicants only\n$213,000—$438,000 USD\n\n#LI-REMOTE", None, (213_000, 438_000)),
        ("$147,000/year to $208,000/year + bonus + equity + benefits", None, (147_000, 208_000)),
        (
            "United States Zone 1: $330,000 - $420,000/year (base salary)\n"
            "United States Zone 2: $297,000 - $378,000/year (base salary)",
            "San Francisco, CA",
            (330_000, 420_000),
        ),
        (
            "East Bay, San Francisco, Silicon Valley: $126,000-$166,000. Seattle: "
            "$120,000-$158,000.",
            "Seattle, WA",
            (120_000, 158_000),
        ),  # real-249
        # A range written as a spread.
        (
            "The base pay for this position ranges from $136,000/year in our lowest geographic "
            "market up to $222,200/year in our highest geographic market.",
            "Seattle, WA",
            (136_000, 222_200),
        ),  # real-024
        ("The base salary will begin at $210,000 and up to $260,000.", None, (210_000, 260_000)),
        # OTE is a sales figure, not a salary, on a line of its own too (real-190); base counts.
        ("OTE: $200,000 - $240,000", None, None),
        ("Salary: $120,000 - $150,000 base.\nOTE $240,000 - $300,000", None, (120_000, 150_000)),
        ("Salary\nWe raised $300,000,000 last year.", None, None),
        # Benefits figures are not pay.
        (
            "Our total rewards include a competitive base salary, tuition assistance of up to "
            "$5,250 per year, and a $500 home office setup stipend for new hires.",
            None,
            None,
        ),
        # "Melbourne, FL" is in dollars, not Australian ones (real-231).
        (
            "Primary Level Salary Range: $79,300.00 - $118,900.00",
            "Melbourne, FL",
            (79_300, 118_900),
        ),
        ("CTC: ₹35,00,000 - ₹50,00,000 per annum", "Bengaluru, India", (39_200, 56_000)),
        (
            "Salary Range: 190,000 - 290,000 USD Annually + Benefits + Bonus",
            None,
            (190_000, 290_000),
        ),
    ],
)
def test_pay_in_the_description(
    description: str, location: str | None, annual: tuple[int, int] | None
) -> None:
    posting = NORMALIZER.normalize(event(description=description, location=location))
    got = (
        None
        if posting.salary is None
        else (
            posting.salary.annual_min_usd,
            posting.salary.annual_max_usd,
        )
    )
    assert got == annual


@pytest.mark.parametrize(
    "text",
    [
        "$100",
        "£5",
        "100 USD",
        "Rs. 500",
        "Fr. 90",
        "90 zł",
        "no money here",
        "USDA grant",
        "CAD tools",
    ],
)
def test_currency_detection_matches_the_full_alternation(text: str) -> None:
    # The fast detector must answer as the full alternation the parser matches with.
    parser = NORMALIZER._salary_text
    assert parser.names_currency(text) == (parser._currency.search(text) is not None)
