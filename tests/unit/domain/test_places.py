"""Location text as boards write it -> canonical metro (or the city), never a work mode."""

import pytest

from rolepulse.domain.model import WorkMode
from rolepulse.domain.places import Places, description_mode, work_mode
from rolepulse.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
PLACES = Places(TAXONOMY.metros, TAXONOMY.non_metros)


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
    ("location", "metro"),
    [
        # Suburbs take their metro (GeoNames places around a core, scripts/build-taxonomy).
        ("Naperville, IL", "Chicago"),
        ("Schaumburg, IL", "Chicago"),
        ("Ashburn, VA", "Washington DC"),
        ("Round Rock, TX", "Austin"),
        ("Basking Ridge, NJ", "New York"),
        ("Costa Mesa, CA", "Los Angeles"),
        ("Pleasanton, CA", "San Francisco"),
        ("Eden Prairie, MN", "Minneapolis"),
        ("Noida, Uttar Pradesh", "Delhi"),
        ("Cologne, Germany", "Köln"),
        ("Manchester, United Kingdom", "Manchester"),
        ("Mississauga, ON", "Toronto"),
        # Same-named places keep apart: the larger takes the bare name.
        ("Portland, OR", "Portland"),
        ("Portland, ME", "Portland, ME"),
        ("London, ON", "London, ON"),
        ("Dublin, OH", "Columbus"),
        ("Dublin, Ireland", "Dublin"),
        ("Melbourne, FL", "Palm Bay"),
        # States and countries are still no metro, whatever small town shares the name.
        ("Remote in Nevada", None),
        ("Delaware", None),
    ],
)
def test_generated_metros_map_suburbs_and_keep_names_apart(
    location: str, metro: str | None
) -> None:
    assert PLACES.metro(location) == metro


@pytest.mark.parametrize(
    ("description", "mode"),
    [
        ("This role is hybrid: we work from our office on Mondays and Thursdays.", "hybrid"),
        ("This is a hybrid role with three days per week in our Plano campus.", "hybrid"),
        ("We use a hybrid work model of 3 days in the office per week.", "hybrid"),
        ("We work in a hybrid way: most teams meet in our office.", "hybrid"),
        ("Grammarly works in a hybrid model; this role is based in our Vancouver hub.", "hybrid"),
        ("Benefits.\nHybrid: our Paris office is the centre of the team.", "hybrid"),
        ("Hybrid - 2 days a week in our Old Street office.", "hybrid"),
        ("Up to 50% work from home.", "hybrid"),
        ("You will spend two days a week in our New York office.", "hybrid"),
        ("This role is hybrid, with two in-office days per week.", "hybrid"),
        ("This is a fully remote role for candidates in the US.", "remote"),
        ("The position is remote within Canada.", "remote"),
        # ML vocabulary and company blurbs say nothing about this role's arrangement.
        ("You will build hybrid search and train hybrid models for ranking.", None),
        ("We support remote work for some teams.", None),
        ("In person in San Francisco, five days a week.", None),
        ("We offer 30 days of vacation.", None),
        ("This role is not remote.", None),
    ],
)
def test_description_states_the_work_mode(description: str, mode: str | None) -> None:
    assert description_mode(description) == (WorkMode(mode) if mode else None)


def test_location_and_flag_outrank_the_description() -> None:
    hybrid = "This role is hybrid."
    remote = "This is a fully remote role."
    assert work_mode(True, "London", "ML Engineer", "London", hybrid) is WorkMode.REMOTE
    assert work_mode(None, "Remote - US", "ML Engineer", None, hybrid) is WorkMode.REMOTE
    # An explicit remote=False still allows hybrid, never remote.
    assert work_mode(False, "Toronto", "ML Engineer", "Toronto", hybrid) is WorkMode.HYBRID
    assert work_mode(False, "Toronto", "ML Engineer", "Toronto", remote) is WorkMode.ONSITE
    assert work_mode(None, "Berlin", "ML Engineer", "Berlin", "") is WorkMode.ONSITE
    assert work_mode(None, None, "ML Engineer", None, remote) is WorkMode.REMOTE
