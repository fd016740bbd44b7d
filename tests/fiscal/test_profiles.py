"""Profiles refuse identifiers that fail their check digit, and say which field is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.fiscal import identifiers
from services.fiscal.errors import error_fields
from services.fiscal.profiles import BillingMode, PartyKind, Rea, Workshop
from tests.fiscal.examples import (
    IBAN,
    ORGANISATION_CF,
    PEC,
    PERSON_CF,
    PERSON_CF_OMOCODIA,
    VAT_NUMBER,
    address,
    company,
    person,
    workshop,
)


def refused_fields(build: Any, **changes: Any) -> list[str]:
    """The fields a profile built with these changes is refused for."""
    with pytest.raises(ValidationError) as caught:
        build(**changes)
    return error_fields(caught.value)


def test_valid_profiles_keep_compact_upper_case_identifiers() -> None:
    party = person(fiscal_code="rssmra85t10a562s")
    assert party.fiscal_code == PERSON_CF
    assert person(fiscal_code=PERSON_CF_OMOCODIA).fiscal_code == PERSON_CF_OMOCODIA
    assert company(vat_number="IT 0272 7250 017").vat_number == "02727250017"
    assert workshop(iban="it60 x054 2811 1010 0000 0123 456").iban == IBAN
    association = company(vat_number=None, fiscal_code=ORGANISATION_CF, recipient_code=None)
    assert association.fiscal_code == ORGANISATION_CF
    assert association.sdi_code == identifiers.NO_RECIPIENT_CODE


@pytest.mark.parametrize(
    "code",
    [
        "RSSMRA85T10A562T",  # wrong check character
        "RSSMRA85T10A562",  # one short
        "RSSMRA85Z10A562S",  # no month Z
        "80213330585",  # an organisation's code with a wrong check digit
    ],
)
def test_codice_fiscale_with_a_wrong_check_character_is_refused(code: str) -> None:
    assert refused_fields(person, fiscal_code=code) == ["fiscal_code"]


@pytest.mark.parametrize("number", ["12345670018", "1234567001", "ABCDEFGHIJK", "00000000000"])
def test_partita_iva_with_a_wrong_check_digit_is_refused(number: str) -> None:
    assert refused_fields(company, vat_number=number) == ["vat_number"]


def test_iban_that_fails_mod_97_is_refused() -> None:
    assert refused_fields(workshop, iban="IT60X0542811101000000123457") == ["iban"]
    assert refused_fields(workshop, iban="IT61X0542811101000000123456") == ["iban"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cap": "1012"}, "cap"),
        ({"cap": "10I21"}, "cap"),
        ({"provincia": "XX"}, "provincia"),
        ({"provincia": None}, "provincia"),
        ({"nazione": "FR"}, "nazione"),
        ({"street": ""}, "street"),
        ({"comune": "Torino ☃"}, "comune"),
    ],
)
def test_address_fields_are_checked_one_by_one(changes: dict[str, Any], field: str) -> None:
    assert refused_fields(address, **changes) == [field]


def test_every_sigla_is_two_capital_letters_and_lower_case_input_is_accepted() -> None:
    assert all(len(s) == 2 and s.isupper() for s in identifiers.PROVINCE_SIGLE)
    assert {"TO", "MI", "RM", "SU", "BT", "MB"} <= identifiers.PROVINCE_SIGLE
    assert address(provincia="mi").provincia == "MI"


def test_business_party_needs_a_recipient_code_or_a_pec() -> None:
    assert refused_fields(company, recipient_code=None) == ["recipient_code"]
    assert company(recipient_code=None, pec=PEC).sdi_code == identifiers.NO_RECIPIENT_CODE
    assert refused_fields(company, recipient_code="ABC12") == ["recipient_code"]
    for address_text in ("not an address", "amministrazione@pec", "però@pec.example.it"):
        assert refused_fields(company, recipient_code=None, pec=address_text) == ["pec"]


def test_party_needs_its_names_and_an_identifier() -> None:
    assert refused_fields(person, last_name=None) == ["last_name"]
    assert refused_fields(company, kind=PartyKind.ORGANISATION, name=None) == ["name"]
    assert refused_fields(person, fiscal_code=None) == ["fiscal_code"]
    assert person().display_name == "Mario Rossi"


def test_workshop_issuing_fatture_needs_its_partita_iva() -> None:
    assert refused_fields(workshop, vat_number=None) == ["vat_number"]
    association = workshop(
        vat_number=None, fiscal_code=ORGANISATION_CF, billing_mode=BillingMode.RENDICONTO
    )
    assert association.transmitter_code == ORGANISATION_CF
    assert refused_fields(workshop, vat_number=None, fiscal_code=None) == ["vat_number"]


def test_workshop_fields_outside_their_ranges_are_refused() -> None:
    assert refused_fields(workshop, payment_terms_days=-1) == ["payment_terms_days"]
    assert refused_fields(workshop, regime="RF03") == ["regime"]
    assert refused_fields(workshop, rea=Rea(office="TO", number="1"), billing_mode="iva") == [
        "billing_mode"
    ]
    with pytest.raises(ValidationError) as caught:
        Rea(office="ZZ", number="1")
    assert error_fields(caught.value) == ["office"]


def test_profiles_are_frozen() -> None:
    shop = workshop()
    with pytest.raises(ValidationError):
        shop.legal_name = "Altro"  # type: ignore[misc]
    assert shop.vat_number == VAT_NUMBER
    assert isinstance(shop, Workshop)
