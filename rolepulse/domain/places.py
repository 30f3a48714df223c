"""Where and how: metros and work mode from board text.

Pure; compiled once from the taxonomy by `Normalizer`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from rolepulse.domain.model import WorkMode
from rolepulse.domain.taxonomy import MetroInfo

_PLACE_CACHE = 8192
_REMOTE = re.compile(r"\b(?:remote|work from home|wfh)\b", re.IGNORECASE)
_HYBRID = re.compile(r"\bhybrid\b", re.IGNORECASE)
_MODE_WORDS = re.compile(
    r"\b(?:fully |100% )?(?:remote(?:[- ](?:friendly|first))?|hybrid|on-?site|in[- ]office"
    r"|work from home|wfh)\b",
    re.IGNORECASE,
)
# "(Hybrid)", "(US)", "(Travel Required)": asides, never the place itself.
_ASIDES = re.compile(r"\([^)]*\)?|\[[^\]]*\]?")
# Indeed writes "Remote in Seattle, WA", "Hybrid work in Austin, TX".
_LEAD_IN = re.compile(r"^(?:work\s+)?in\s+", re.IGNORECASE)
# LinkedIn writes "Greater Seattle Area", "Los Angeles Metropolitan Area".
_AREA = re.compile(
    r"^greater\s+|\s+(?:metropolitan area|metro area|metroplex|area|region)$", re.IGNORECASE
)
# "Sydney NSW 2000", "Seattle WA 98109": a state code or postcode trailing the city name.
_TRAILING_CODES = re.compile(r"(?:\s+[A-Z]{2,3})?(?:\s+\d{3,6})?$")
# Several locations in one field: the first one names the metro.
_LOCATION_SPLIT = re.compile(r";|\||\n|\s/\s|\s•\s|\bor\b", re.IGNORECASE)
_EDGE_PUNCTUATION = " \t-–—,:/·•"
# Workday writes "US-CA-San Jose", "USA - Texas - Dallas", "USA - New York, NY": country, then
# state, then city. The place is "City, State".
_WORKDAY = re.compile(
    r"^(?:US|USA|United States)\s*-\s*(?:(?P<state>[A-Za-z][A-Za-z .]*?)\s*-\s*)?"
    r"(?P<city>[^-]+?)$",
    re.IGNORECASE,
)
# Workday's "2 Locations": several places, none named.
_PLACE_COUNT = re.compile(r"^\d+\s+locations?$", re.IGNORECASE)
# "Hybrid - 3 days in office - Austin, TX": the arrangement, not the place.
_OFFICE_DAYS = re.compile(
    r"\b\d(?:\s*-\s*\d)?\s+days?(?:\s+(?:a|per)\s+week)?\s+(?:in[- ](?:the\s+)?office|on-?site)\b",
    re.IGNORECASE,
)
# "Fremont, CA 94539", "Fremont, CA, US": the ZIP code or country after "City, ST" says no more.
_CITY_STATE = re.compile(r"^([^,]+),\s*([A-Za-z]{2})\b")


class Places:
    """Location text -> canonical metro, a cleaned city name for unknown places, or None."""

    def __init__(self, metros: Iterable[MetroInfo], non_metros: frozenset[str]) -> None:
        self._aliases = {alias: m.name for m in metros for alias in m.aliases}
        self._non_metros = non_metros
        # Boards repeat a small vocabulary of locations ("San Francisco, CA"); the answer is pure.
        self._cached = lru_cache(maxsize=_PLACE_CACHE)(self._metro)

    def metro(self, location: str | None) -> str | None:
        return self._cached(location) if location else None

    def _metro(self, location: str) -> str | None:
        text = _MODE_WORDS.sub(" ", _OFFICE_DAYS.sub(" ", _ASIDES.sub(" ", location)))
        parts = _LOCATION_SPLIT.split(text)
        first = next((part for part in parts if part.strip(_EDGE_PUNCTUATION)), "")
        place = _LEAD_IN.sub("", " ".join(first.split()).strip(_EDGE_PUNCTUATION))
        place = place.strip(_EDGE_PUNCTUATION)
        if not place or _PLACE_COUNT.match(place):
            return None  # the location only said "Remote" or "Hybrid", or "2 Locations"
        workday = _WORKDAY.match(place)
        if workday is not None:
            state = workday["state"]
            place = f"{workday['city'].strip()}, {state.strip()}" if state else workday["city"]
        city = place.split(",", 1)[0].strip(_EDGE_PUNCTUATION)
        bare = _TRAILING_CODES.sub("", _AREA.sub("", city)).strip(_EDGE_PUNCTUATION)
        keys = [key.lower() for key in (place, city, _AREA.sub("", place), bare)]
        city_state = _CITY_STATE.match(place)
        if city_state is not None:
            keys.insert(1, f"{city_state[1].strip()}, {city_state[2]}".lower())
        for key in keys:
            if key in self._aliases:
                return self._aliases[key]
        if any(key in self._non_metros for key in keys):
            return None
        return bare or None


_COUNT = r"(?:[1-4]|one|two|three|four)"
# Statements a posting makes about its own arrangement, matched on lower-cased descriptions.
# Precise on purpose: "hybrid search" and "hybrid models" are ML, and a company blurb such as
# "we support remote work for some teams" says nothing about this role.
# Each statement runs only when its literal hint occurs in the raw text (case-safe
# fragments): most descriptions then skip lower-casing and every regex (a full scan of all of
# them measured ~3 µs per posting on the evaluation set).
_HYBRID_STATEMENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "ybrid",
        re.compile(
            r"\b(?:this|the) (?:role|position|job) is (?:a )?hybrid\b"
            r"|\bhybrid (?:role|position|job|company|set-?up|policy|schedule|arrangements?"
            r"|work(?:ing)?\b|model of)"
            r"|\b(?:flexible|location-based) hybrid\b"
            r"|\bwork(?:s|ing)? (?:in )?(?:a )?hybrid\b"
            # "Hybrid: our Paris office...", "Hybrid - 2 days a week", "Hybrid, with our hub".
            r"|(?:^|[.!;\n]\s*)hybrid\s*(?:[:,\u2013\u2014-]|with\b)"
            # Target's "operate as a Hybrid/Flex for Your Day work arrangement".
            r"|\bhybrid[\w/ -]{0,30}? work arrangements?\b"
        ),
    ),
    ("%", re.compile(r"\b\d{1,2}% (?:work from home|remote|wfh)\b")),
    (
        "days",
        re.compile(
            rf"\b{_COUNT}(?: to {_COUNT})? (?:in-office |office )?days (?:a|per|each) week"
            r" (?:in|at|from|together in) (?:the|our|one of our)\b"
            rf"|\b{_COUNT} (?:in-office|office) days\b|\bin the office {_COUNT} days\b"
            # "We work in-office 2 days a week", "in the office 2-3 days per week",
            # "associates to be in-office 1 - 2 days per week" (Chime, Grammarly, Elevance).
            rf"|\bin[- ](?:the )?office,? {_COUNT}(?:\s*(?:-|to)\s*{_COUNT})? days"
            r" (?:a|per|each) week\b"
        ),
    ),
)
_REMOTE_HINT = "emote"
_REMOTE_STATEMENT = re.compile(
    r"\b(?:this|the) (?:role|position|job) is (?:a )?(?:fully |100% )?remote\b"
    r"|\b(?:fully|100%) remote (?:role|position|job)\b"
    r"|(?:^|[.!;\n]\s*)fully remote\b"
    # "This is a remote position" (Humana's "Work-At-Home Requirements"), "US - Remote
    # Eligible" (Airbnb), "remote eligible" (Synchrony's work arrangement), UnitedHealth's
    # "flexibility to work remotely from anywhere within the U.S.".
    r"|\bthis is an? (?:fully |100% )?remote (?:role|position|job|opportunity)\b"
    r"|(?<!not )\bremote[- ]eligible\b"
    r"|\bwork remotely from anywhere\b"
)
# Boards' own fields for the arrangement, written into the description: Indeed's "Work
# Location: Hybrid remote in Fremont, CA 94539" / "Remote" / "In person", Workday tenants'
# "Work Location Assignment: Hybrid", "Work Requirement: Hybrid", "Location Type: Remote".
# They state the arrangement as structured data, so they outrank free-text statements.
_FIELD_NAMES = frozenset(
    [
        "work location",
        "work location assignment",
        "work arrangement",
        "work requirement",
        "work model",
        "work type",
        "location type",
        "workplace type",
        "remote type",
        "work-at-home requirements",
    ]
)
_FIELD_NAME_CHARS = 30  # the longest name, with room for a bullet or indent
# The field's value starts with the arrangement ("Hybrid remote in ...", "Remote - must reside in
# California"); a sentence there ("Work Model: If this position is listed as remote or hybrid,
# ...") is boilerplate about other postings.
_FIELD_HYBRID = re.compile(r"^(?:flexible |flex )?hybrid\b", re.IGNORECASE)
_FIELD_REMOTE = re.compile(
    r"^(?:fully |100% |us |u\.s\. )?(?:remote|work from home)\b", re.IGNORECASE
)
_FIELD_ONSITE = re.compile(
    r"^(?:in[- ]person|on[- ]?site|on the road|in[- ]office|office|one location)\b", re.IGNORECASE
)
# LinkedIn's tags, which employers write into the posting's text on every board (Greenhouse,
# Lever and Workday postings syndicate to LinkedIn with them): "#LI-Hybrid", "#LI-Remote",
# "#LI-Onsite". Other "#LI-" tags (recruiter initials, "#LI-DNI") say nothing of the job.
_LI_TAG = re.compile(r"#LI-(?P<mode>hybrid|remote|on-?site|office)\b", re.IGNORECASE)
_LI_MODES = {"hybrid": WorkMode.HYBRID, "remote": WorkMode.REMOTE}
# Indeed's location "Hybrid remote in Seattle, WA" is hybrid, whatever "remote" says.
_HYBRID_REMOTE = re.compile(r"\bhybrid[- ]remote\b", re.IGNORECASE)


def work_mode(
    remote: bool | None,
    location: str | None,
    title: str,
    metro: str | None,
    description: str = "",
) -> WorkMode:
    """Remote flag, then the board's own arrangement field or tag in the description, then
    "Remote"/"Hybrid" in location or title, then the description's own statement of the
    arrangement, then a known place (onsite)."""
    text = f"{location or ''} {title}"
    if remote:
        return WorkMode.REMOTE
    board = board_mode(description)
    # An explicit remote=False outranks a "Remote" in free text; "Hybrid" is still hybrid.
    if board is not None and (board is not WorkMode.REMOTE or remote is None):
        return board
    if _may_name_mode(text):
        if _HYBRID_REMOTE.search(text):
            return WorkMode.HYBRID
        if remote is None and _REMOTE.search(text):
            return WorkMode.REMOTE
        if _HYBRID.search(text):
            return WorkMode.HYBRID
    stated = description_mode(description, remote_allowed=remote is None)
    if stated is not None:
        return stated
    if metro is not None or remote is False:
        return WorkMode.ONSITE
    return WorkMode.UNKNOWN


def _may_name_mode(text: str) -> bool:
    """Whether `_HYBRID_REMOTE`, `_REMOTE` or `_HYBRID` may match: most locations and titles
    name no arrangement, and substrings spare them three regex scans. In ASCII, IGNORECASE is
    lower-casing; other text (where "ı" matches "i") takes the scans."""
    if not text.isascii():
        return True
    low = text.lower()
    return "remote" in low or "hybrid" in low or "wfh" in low or "work from home" in low


def board_mode(description: str) -> WorkMode | None:
    """The arrangement a board's field ("Work Location: ...") or LinkedIn tag states, if any."""
    for value in _field_values(description):
        if _FIELD_HYBRID.match(value):
            return WorkMode.HYBRID
        if _FIELD_REMOTE.match(value):
            return WorkMode.REMOTE
        if _FIELD_ONSITE.match(value):
            return WorkMode.ONSITE
    if "#LI-" in description or "#li-" in description:
        tag = _LI_TAG.search(description)
        if tag is not None:
            return _LI_MODES.get(tag["mode"].lower(), WorkMode.ONSITE)
    return None


def _field_values(description: str) -> Iterator[str]:
    """Values of the arrangement fields: lines "<field name>: <value>".

    Found from the colons, which are few, rather than by a regex over every line start (which
    cost ~3 µs a posting).
    """
    colon = description.find(":")
    while colon >= 0:
        start = description.rfind("\n", 0, colon) + 1
        if colon - start <= _FIELD_NAME_CHARS:
            name = description[start:colon].strip(" \t*-•").lower()
            if name in _FIELD_NAMES:
                end = description.find("\n", colon)
                yield description[colon + 1 : end if end >= 0 else len(description)][:80].strip()
        colon = description.find(":", colon + 1)


def description_mode(description: str, *, remote_allowed: bool = True) -> WorkMode | None:
    """Hybrid or remote when the description states it of the role itself, else None."""
    low: str | None = None
    for hint, statement in _HYBRID_STATEMENTS:
        if hint in description:
            low = low if low is not None else description.lower()
            if statement.search(low):
                return WorkMode.HYBRID
    if remote_allowed and _REMOTE_HINT in description:
        low = low if low is not None else description.lower()
        if _REMOTE_STATEMENT.search(low):
            return WorkMode.REMOTE
    return None
