"""A billing party is checked by the fiscal rules before it is stored; a refusal names the field."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.fiscal import PartyKind
from services.ledger import RegistryError
from services.ledger.parties import checked_party, flat_fields
from tests.fiscal.identifier_strategies import codici_fiscali, partite_iva, with_wrong_check

ADDRESS = {"street": "Via Nizza", "civic_number": "40", "cap": "10125", "comune": "Torino"}


def person(**changes: Any) -> dict[str, Any]:
    """A private person's flat fields, as the api and the pages send them."""
    return {
        "kind": "person",
        "first_name": "Mario",
        "last_name": "Rossi",
        "fiscal_code": "RSSMRA85T10A562S",
        **ADDRESS,
        "provincia": "to",
    } | changes


def company(**changes: Any) -> dict[str, Any]:
    """A company reached by its SdI recipient code."""
    return {
        "kind": "organisation",
        "name": "Rossi Prototipi S.r.l.",
        "vat_number": "02727250017",
        **ADDRESS,
        "provincia": "TO",
        "recipient_code": "a1b2c3d",
    } | changes


def refused_field(values: dict[str, Any]) -> str:
    """The field a refusal names."""
    with pytest.raises(RegistryError) as refused:
        checked_party(values)
    return refused.value.field


@given(code=codici_fiscali(), replacement=st.characters(codec="ascii"))
def test_a_valid_codice_fiscale_is_kept_and_a_changed_check_character_refused(
    code: str, replacement: str
) -> None:
    assert checked_party(person(fiscal_code=code.lower())).fiscal_code == code
    assert refused_field(person(fiscal_code=with_wrong_check(code, replacement))) == "fiscal_code"


@given(number=partite_iva(), replacement=st.characters(codec="ascii"))
def test_a_valid_partita_iva_is_kept_and_a_changed_check_digit_refused(
    number: str, replacement: str
) -> None:
    assert checked_party(company(vat_number=f"IT{number}")).vat_number == number
    assert refused_field(company(vat_number=with_wrong_check(number, replacement))) == "vat_number"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        (company(recipient_code=None), "recipient_code"),
        (company(cap="1012"), "cap"),
        (company(provincia="XX"), "provincia"),
        (company(provincia=None), "provincia"),
        (company(nazione="FR"), "nazione"),
        (company(pec="not-an-address"), "pec"),
        (company(name=None), "name"),
        (person(last_name=None), "last_name"),
        (person(fiscal_code=None), "fiscal_code"),
        (person(street=None), "street"),
        (person(comune="Torino ☃"), "comune"),
    ],
)
def test_a_party_the_documents_could_not_carry_is_refused_naming_the_field(
    values: dict[str, Any], field: str
) -> None:
    assert refused_field(values) == field


def test_a_refusal_does_not_repeat_the_value() -> None:
    with pytest.raises(RegistryError) as refused:
        checked_party(person(fiscal_code="RSSMRA85T10A562T"))
    assert "RSSMRA85T10A562T" not in str(refused.value)


def test_a_business_party_with_a_pec_and_no_code_is_accepted_and_stored_flat() -> None:
    party = checked_party(company(recipient_code=None, pec="rossi@pec.example.it"))
    assert party.kind is PartyKind.ORGANISATION and party.sdi_code == "0000000"
    flat = flat_fields(party)
    assert (flat["kind"], flat["pec"], flat["provincia"]) == ("organisation", party.pec, "TO")
