"""Words the demo market is written in: titles, companies, locations, skill phrases, sentences.

Every entry is chosen so the normalizer reads it one way only: titles map to one role and one
seniority, sentences name no taxonomy skill (skills enter descriptions only through
SKILL_PHRASES), and locations name a metro, or "Remote" with no metro.
"""

from __future__ import annotations

from rolepulse.domain.model import Seniority

S = Seniority

# Titles per role and seniority. Only the two seed-page roles need every seniority level.
TITLES: dict[str, dict[Seniority, tuple[str, ...]]] = {
    "ai-software-engineer": {
        S.ENTRY: ("Junior AI Software Engineer", "Associate AI Software Engineer"),
        S.MID: ("AI Software Engineer", "Software Engineer, AI", "AI Engineer"),
        S.SENIOR: ("Senior AI Software Engineer", "Senior AI Engineer", "Sr. AI Software Engineer"),
        S.LEAD: ("Staff AI Engineer", "Principal AI Software Engineer", "Lead AI Engineer"),
        S.EXECUTIVE: ("Director of AI Engineering", "Head of AI Engineering"),
    },
    "ai-product-manager": {
        S.ENTRY: ("Associate AI Product Manager", "Associate Product Manager, AI"),
        S.MID: ("AI Product Manager", "Product Manager, AI", "Product Manager, AI Platform"),
        S.SENIOR: ("Senior AI Product Manager", "Senior Product Manager, AI"),
        S.LEAD: ("Principal Product Manager, AI", "Lead AI Product Manager"),
        S.EXECUTIVE: ("Director of AI Product", "Head of AI Product", "VP of Product, AI"),
    },
    "ai-ml-engineer": {
        S.MID: ("Machine Learning Engineer", "ML Engineer"),
        S.SENIOR: ("Senior Machine Learning Engineer",),
        S.LEAD: ("Staff Machine Learning Engineer",),
    },
    "llm-engineer": {S.MID: ("LLM Engineer",), S.SENIOR: ("Senior LLM Engineer",)},
    "ai-agent-developer": {
        S.MID: ("AI Agent Developer",),
        S.SENIOR: ("Senior AI Agent Developer",),
    },
    "prompt-engineer": {S.MID: ("Prompt Engineer",), S.SENIOR: ("Senior Prompt Engineer",)},
    "mlops-engineer": {S.MID: ("MLOps Engineer",), S.SENIOR: ("Senior MLOps Engineer",)},
    "research-engineer": {
        S.MID: ("Research Engineer, AI",),
        S.SENIOR: ("Senior Research Engineer",),
    },
    "research-scientist": {
        S.MID: ("Research Scientist",),
        S.SENIOR: ("Senior Research Scientist",),
        S.LEAD: ("Principal Research Scientist",),
    },
    "data-scientist": {
        S.ENTRY: ("Junior Data Scientist",),
        S.MID: ("Data Scientist",),
        S.SENIOR: ("Senior Data Scientist",),
    },
    "nlp-engineer": {S.MID: ("NLP Engineer",), S.SENIOR: ("Senior NLP Engineer",)},
    "computer-vision-engineer": {
        S.MID: ("Computer Vision Engineer",),
        S.SENIOR: ("Senior Computer Vision Engineer",),
    },
}

# Titles at AI companies that are not AI roles: they count as postings but never as AI positions.
NON_AI_TITLES = (
    "Vice President, Retail Sales",
    "Sales Development Representative",
    "Account Executive",
    "Software Engineer, Payments",
    "Product Manager, Checkout",
    "Office Manager",
    "Financial Analyst",
    "Customer Success Manager",
)
NON_AI_COMPANIES = ("Anthropic", "Cohere", "Perplexity", "Mistral", "Runway")

# How each canonical skill may be written in a description (canonical names first).
SKILL_PHRASES: dict[str, tuple[str, ...]] = {
    "RAG": ("RAG", "retrieval-augmented generation (RAG)"),
    "Python": ("Python",),
    "Rust": ("Rust",),
    "Kubernetes": ("Kubernetes", "k8s"),
    "AWS": ("AWS", "Amazon Web Services"),
    "Docker": ("Docker",),
    "Claude": ("Claude", "Anthropic Claude"),
    "OpenAI": ("OpenAI", "the OpenAI API"),
    "Prompt Engineering": ("prompt engineering",),
    "GCP": ("GCP",),
    "Salesforce": ("Salesforce",),
    "Azure": ("Azure",),
    "PyTorch": ("PyTorch",),
    "TypeScript": ("TypeScript",),
    "LangChain": ("LangChain",),
    "Terraform": ("Terraform",),
    "SQL": ("SQL",),
}

# Skills sprinkled on filler and closed postings; they never reach the two seed-page roles' counts.
FILLER_SKILLS = ("Python", "PyTorch", "SQL", "AWS", "Docker", "Kubernetes", "TypeScript", "GCP")

SKILL_SENTENCES = (
    "Our stack includes {skills}.",
    "You have hands-on experience with {skills}.",
    "Day to day you will work with {skills}.",
    "Familiarity with {skills} is a strong plus.",
)

INTROS: dict[str, tuple[str, ...]] = {
    "ai-software-engineer": (
        "You will design, build and operate the services behind our assistant features.",
        "Join a small team that ships new product features to customers every week.",
        "You will turn prototypes into reliable, well-tested production services.",
    ),
    "ai-product-manager": (
        "You will decide what we build next for our assistant features and why.",
        "You will work with design and engineering to ship features customers love.",
        "You will own the plan for a product area and measure whether it works.",
    ),
}
DEFAULT_INTROS = (
    "You will join a focused team working on hard problems with real customers.",
    "We are growing the team and looking for people who enjoy ownership.",
)
CLOSINGS = (
    "We offer flexible hours, a learning budget and generous parental leave.",
    "Our team values clear writing and kind, direct feedback.",
    "We hire people from many backgrounds and welcome your application.",
    "",
)

# Metro -> ways a board writes it. The normalizer maps each spelling to the metro name.
LOCATIONS: dict[str, tuple[str, ...]] = {
    "San Francisco": ("San Francisco, CA", "San Francisco, California, United States"),
    "Los Angeles": ("Los Angeles, CA", "Los Angeles, California, United States"),
    "New York": ("New York, NY", "New York, New York, United States"),
    "Seattle": ("Seattle, WA",),
    "Austin": ("Austin, TX",),
    "Boston": ("Boston, MA",),
    "Chicago": ("Chicago, IL",),
    "Denver": ("Denver, CO",),
    "Atlanta": ("Atlanta, GA",),
    "Washington": ("Washington, DC",),
    "Dallas": ("Dallas, TX",),
    "Pittsburgh": ("Pittsburgh, PA",),
}
REMOTE_LOCATIONS = ("Remote", None)

# Employers for the long tail of each role; none shares a name, alias or skill with another.
COMPANY_POOL = (
    "Microsoft",
    "Meta",
    "Capital One",
    "JPMorgan Chase",
    "IBM",
    "Deloitte",
    "Walmart",
    "Target",
    "Netflix",
    "Adobe",
    "Oracle",
    "Cisco",
    "Intel",
    "Qualcomm",
    "Uber",
    "Lyft",
    "Airbnb",
    "DoorDash",
    "Instacart",
    "Pinterest",
    "Snap",
    "Spotify",
    "Stripe",
    "Block",
    "PayPal",
    "Visa",
    "Mastercard",
    "American Express",
    "Goldman Sachs",
    "Morgan Stanley",
    "Wells Fargo",
    "Bank of America",
    "Citi",
    "Fidelity",
    "Vanguard",
    "State Farm",
    "Progressive",
    "Allstate",
    "UnitedHealth Group",
    "CVS Health",
    "Humana",
    "Cigna",
    "Kaiser Permanente",
    "Pfizer",
    "Johnson & Johnson",
    "Moderna",
    "Boeing",
    "Lockheed Martin",
    "Northrop Grumman",
    "General Motors",
    "Ford",
    "Tesla",
    "Rivian",
    "Verizon",
    "AT&T",
    "T-Mobile",
    "Comcast",
    "Disney",
    "Warner Bros. Discovery",
    "Peloton",
    "Zillow",
    "Expedia",
    "Booking Holdings",
    "Shopify",
    "Workday",
    "ServiceNow",
    "Atlassian",
    "Dropbox",
    "Box",
    "Twilio",
    "Okta",
    "Cloudflare",
    "Palantir",
    "Booz Allen Hamilton",
    "Leidos",
    "KPMG",
    "PwC",
    "EY",
    "McKinsey",
    "Boston Consulting Group",
    "Bain",
    "Nike",
    "Starbucks",
    "Home Depot",
    "Lowe's",
    "Costco",
    "Kroger",
    "Wayfair",
    "Chewy",
    "Etsy",
    "eBay",
)
