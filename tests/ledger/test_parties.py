"""A billing party is checked by the fiscal rules before it is stored; 0009 keeps the cards."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session

from services.fiscal import PartyKind
from services.ledger import CardRow, MemberRow, RegistryError, open_ledger
from services.ledger.db import downgrade, migrate
from services.ledger.parties import (
    add_party,
    assign_card,
    checked_party,
    flat_fields,
    member_parties,
)
from tests.fiscal.identifier_strategies import codici_fiscali, partite_iva, with_wrong_check

CARD = "ab" * 32
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


def test_0009_keeps_the_cards_on_the_way_up_and_down_and_adds_their_party(
    ledger_url: str,
) -> None:
    engine = open_ledger(ledger_url)
    try:
        downgrade(engine, "0008")
        assert "billing_parties" not in inspect(engine).get_table_names()
        # Written as SQL: the models already have what 0009 adds.
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO members (id, name, joined_at) "
                    "VALUES ('giulia', 'Giulia Rossi', '2026-01-01 00:00:00+00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO cards (site, card_hash, member, issued_at) "
                    f"VALUES ('officine-zero', '{CARD}', 'giulia', '2026-01-01 00:00:00+00')"
                )
            )
        migrate(engine, "head")
        with Session(engine) as db:
            card = db.get(CardRow, ("officine-zero", CARD))
            assert card is not None and card.party_id is None
            member = db.get(MemberRow, "giulia")
            assert member is not None
            party = add_party(
                db,
                member,
                label="Io",
                party=checked_party(person()),
                default=False,
                now=datetime(2026, 12, 6, tzinfo=UTC),
            )
            assign_card(db, card, party)
            db.commit()
            assert party.is_default and member_parties(db, "giulia") == [party]
        downgrade(engine, "0008")
        assert "billing_parties" not in inspect(engine).get_table_names()
        with engine.connect() as connection:
            cards = connection.execute(text("SELECT card_hash FROM cards")).scalars().all()
        assert cards == [CARD]
    finally:
        engine.dispose()
