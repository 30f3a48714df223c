"""Company names as boards write them -> the canonical name company figures are keyed by."""

import pytest

from rolepulse.domain.companies import CompanyNames, legal_form_key
from rolepulse.domain.taxonomy import CompanyInfo
from rolepulse.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy()
COMPANIES = CompanyNames(TAXONOMY.companies, TAXONOMY.company_suffixes)


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
        ("Flipkart Internet Pvt Ltd", "Flipkart"),
        ("Acme Robotics Pvt. Ltd", "Acme Robotics"),
        ("Acme Robotics Private Limited", "Acme Robotics"),
        ("Wise Payments Limited", "Wise"),
        ("Wealthsimple Technologies Inc.", "Wealthsimple"),
        # Descriptor words go only through aliases: stripping them would merge distinct names.
        ("Rasa Technologies GmbH", "Rasa Technologies"),
        ("Acme Services LLC", "Acme Services"),
        ("Tata Consultancy Services Limited", "TCS"),
        ("Google DeepMind", "Google"),
        # An alias is looked up after each form: "accenture federal services" is one.
        ("Accenture Federal Services LLC", "Accenture"),
        ("Amazon.com Services LLC", "Amazon"),
    ],
)
def test_company_suffixes_and_aliases(company: str, canonical: str) -> None:
    assert COMPANIES.canonical(company) == canonical


@pytest.mark.parametrize(
    ("company", "canonical"),
    [
        ("Acme GmbH", "Acme"),
        ("Foo S.A.", "Foo"),
        ("Bar Pvt. Ltd.", "Bar"),
        ("Baz Inc.", "Baz"),
        ("Baz INC", "Baz"),
        ("Société Générale S.A.", "Société Générale"),  # accents and case kept
        ("BNP Paribas SA", "BNP Paribas"),
        ("SAP SE", "SAP"),
        ("Volkswagen AG", "Volkswagen"),
        ("Bosch GmbH & Co. KG", "Bosch"),
        ("Nokia Oyj", "Nokia"),
        ("Equinor ASA", "Equinor"),
        ("Novo Nordisk A/S", "Novo Nordisk"),
        ("Allegro Sp. z o.o.", "Allegro"),
        ("Kiwi.com s.r.o.", "Kiwi.com"),
        ("Stone Pagamentos Ltda", "Stone Pagamentos"),
        ("Itaú Unibanco S.A.", "Itaú Unibanco"),
        ("Grupo Bimbo S.A.B. de C.V.", "Grupo Bimbo"),
        ("Kaspersky OOO", "Kaspersky"),
        ("Samsung Electronics Co., Ltd.", "Samsung Electronics"),
        ("Toyota Motor Corporation K.K.", "Toyota Motor"),
        ("Wells Fargo Bank, N.A.", "Wells Fargo"),
        ("Bharti Airtel Ltd.", "Bharti Airtel"),
        # "&" names: a connector left dangling goes with the form, one inside the name stays.
        ("Goldman Sachs & Co. LLC", "Goldman Sachs"),
        ("Procter & Gamble Co.", "Procter & Gamble"),
        ("Larsen & Toubro Limited", "Larsen & Toubro"),
        ("Ernst & Young LLP", "Ernst & Young"),
        ("AT&T Inc.", "AT&T"),
        ("Smith and Co", "Smith"),
        ("Acme - Inc.", "Acme"),
    ],
)
def test_legal_forms_of_many_countries_are_stripped(company: str, canonical: str) -> None:
    assert COMPANIES.canonical(company) == canonical


@pytest.mark.parametrize(
    "company",
    [
        # The whole name is never stripped, even when it is a legal form.
        "Company",
        "AB",
        "Ltd",
        "SAS",
        "& Co.",
        # cleanco's forms that are words or plain abbreviations here (not_legal_suffixes), and
        # its one- and two-letter forms (only ours are taken).
        "The Walt Disney Company",
        "McKinsey & Company",
        "Bain & Company",
        "Amazon UK",
        "Acme Ent.",
        "REI Co-op",
        "Acme VAT",
        # Names with no form at all.
        "Johnson & Johnson",
        "AT&T",
        "Trust & Will",
        "Scale AI",
        "Company 00042",
        "The Home Depot",
        "Siemens Aktiengesellschaft",
    ],
)
def test_names_that_must_not_be_altered(company: str) -> None:
    assert COMPANIES.canonical(company) == company


def test_forms_compare_without_case_dots_or_accents() -> None:
    assert legal_form_key("S.A.") == legal_form_key("sa") == ("sa",)
    assert legal_form_key("Pvt. Ltd.") == legal_form_key("PVT LTD") == ("pvt", "ltd")
    assert legal_form_key("Spółka z o.o.") == ("społka", "z", "oo")


def test_a_fake_taxonomy_strips_only_its_own_forms() -> None:
    names = CompanyNames([CompanyInfo("Acme", ("acme", "acme corp"))], ["Inc."])
    assert names.canonical("Acme Corp") == "Acme"  # an alias, not a form
    assert names.canonical("Foo Corp") == "Foo Corp"
    assert names.canonical("Foo, Inc.") == "Foo"
