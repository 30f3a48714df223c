"""Location text as boards write it -> canonical metro (or the city), never a work mode."""

import pytest

from rolepulse.domain.places import CompanyNames, Places
from rolepulse.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
PLACES = Places(TAXONOMY.metros, TAXONOMY.non_metros)
COMPANIES = CompanyNames(TAXONOMY.companies, TAXONOMY.company_suffixes)


@pytest.mark.parametrize(
    ("location", "metro"),
    [
        ("Remote in Seattle, WA 98109", "Seattle"),
        ("Hybrid work in Austin, TX", "Austin"),
        ("Sydney NSW 2000", "Sydney"),
        ("Sydney NSW", "Sydney"),
        ("Los Angeles Metropolitan Area", "Los Angeles"),
        ("Greater Seattle Area", "Seattle"),
        ("Washington DC-Baltimore Area", "Washington DC"),
        ("San Francisco Bay Area", "San Francisco"),
        ("London, United Kingdom (Hybrid)", "London"),
        ("London / Cardiff / Remote (UK)", "London"),
        ("Pittsburgh, PA", "Pittsburgh"),
        ("Pune, Maharashtra", "Pune"),
        ("Gurgaon, Haryana", "Gurugram"),
        ("München", "Munich"),
        ("Remote-Friendly (Travel Required)", None),
        ("Remote - Australia", None),
        ("Remote (North America)", None),
        ("Netherlands", None),
    ],
)
def test_metro_from_board_locations(location: str, metro: str | None) -> None:
    assert PLACES.metro(location) == metro


@pytest.mark.parametrize(
    ("company", "canonical"),
    [
        ("Klarna Bank AB", "Klarna"),
        ("Oracle America, Inc.", "Oracle"),
        ("Meta Platforms, Inc.", "Meta"),
        ("Mistral AI SAS", "Mistral AI"),
        ("N26 GmbH", "N26"),
        ("Grab Holdings Pte. Ltd.", "Grab Holdings"),
        ("Anthropic PBC", "Anthropic"),
    ],
)
def test_company_suffixes_and_aliases(company: str, canonical: str) -> None:
    assert COMPANIES.canonical(company) == canonical
