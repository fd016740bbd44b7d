"""The simulated workshop's fiscal side: its profile as a seller, and each member's billing party.

Officine Zero is a cooperative in Rome that issues fatture; run as an association it issues
rendiconti instead. Its members are a mix of private persons (reached by PEC or through the tax
drawer, code 0000000), artisans with a partita IVA and companies reached by an SdI recipient
code. Every identifier is made from the simulation's seed with its real check digits, so the
same checks the api runs (`services.fiscal`, python-stdnum) accept them.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.it import codicefiscale

from services.fiscal import Address, BillingMode, BillingParty, PartyKind, Rea, Workshop
from services.fiscal.profiles import RegimeFiscale, SoleShareholder

ROME_CODE = "H501"  # the cadastral code of Rome, in a codice fiscale
ROME_OFFICE = "058"  # the province of Rome, in the last digits before a P.IVA's check digit
DRAWER = "0000000"  # the recipient code of a private person served through the tax drawer
_MONTHS = "ABCDEHLMPRST"
_VOWELS = set("AEIOU")
# The CIN of an Italian BBAN weighs the characters at odd positions by this table.
_CIN_ODD = (
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
)
_STREETS = (
    "Via Prenestina",
    "Via Casilina",
    "Via del Pigneto",
    "Via Tiburtina",
    "Viale Marconi",
    "Via Ostiense",
    "Via Appia Nuova",
    "Via Nomentana",
)
_CAPS = ("00176", "00177", "00159", "00146", "00154", "00179", "00161", "00162")


class Reach(StrEnum):
    """How a member's fatture reach her: the kinds of party the simulation hands out."""

    PEC = "pec"  # a private person with a certified mailbox
    DRAWER = "drawer"  # a private person, through the tax drawer (code 0000000)
    ARTISAN = "artisan"  # a sole trader with a P.IVA and an SdI recipient code


@dataclass(frozen=True, slots=True)
class Person:
    """What a codice fiscale is made of."""

    first_name: str
    last_name: str
    female: bool
    born: date


def partita_iva(rng: random.Random, office: str = ROME_OFFICE) -> str:
    """A partita IVA: a serial, the office's code and the Luhn check digit."""
    body = f"{rng.randrange(10**7):07d}{office}"
    return body + luhn.calc_check_digit(body)


def association_code(rng: random.Random) -> str:
    """An association's 11-digit codice fiscale (they start with 9), with its check digit."""
    body = f"97{rng.randrange(10**5):05d}{ROME_OFFICE}"
    return body + luhn.calc_check_digit(body)


def _letters(text: str) -> tuple[list[str], list[str]]:
    upper = [c for c in text.upper() if c in string.ascii_uppercase]
    return [c for c in upper if c not in _VOWELS], [c for c in upper if c in _VOWELS]


def _surname_code(surname: str) -> str:
    consonants, vowels = _letters(surname)
    return "".join([*consonants, *vowels, "X", "X", "X"][:3])


def _name_code(name: str) -> str:
    consonants, vowels = _letters(name)
    if len(consonants) >= 4:
        return consonants[0] + consonants[2] + consonants[3]
    return "".join([*consonants, *vowels, "X", "X", "X"][:3])


def codice_fiscale(person: Person, comune: str = ROME_CODE) -> str:
    """A person's codice fiscale: surname, name, birth date and place, and the check letter."""
    day = person.born.day + (40 if person.female else 0)
    body = (
        _surname_code(person.last_name)
        + _name_code(person.first_name)
        + f"{person.born.year % 100:02d}{_MONTHS[person.born.month - 1]}{day:02d}{comune}"
    )
    return body + str(codicefiscale.calc_check_digit(body))


def _cin(bban: str) -> str:
    """The check letter of an Italian BBAN (ABI, CAB and account)."""

    def value(char: str) -> int:
        return int(char) if char.isdigit() else ord(char) - ord("A")

    total = sum(_CIN_ODD[value(c)] if n % 2 == 0 else value(c) for n, c in enumerate(bban))
    return chr(ord("A") + total % 26)


def italian_iban(rng: random.Random, abi: str = "08327") -> str:
    """An Italian IBAN at a bank (ABI), its CIN and mod-97 check digits computed."""
    bban = f"{abi}{rng.randrange(10**5):05d}{rng.randrange(10**12):012d}"
    national = _cin(bban) + bban
    return f"IT{stdnum_iban.calc_check_digits('IT00' + national)}{national}"


def recipient_code(rng: random.Random) -> str:
    """An SdI recipient code: seven capital letters or digits."""
    return "".join(rng.choices(string.ascii_uppercase + string.digits, k=7))


def _address(rng: random.Random) -> Address:
    n = rng.randrange(len(_STREETS))
    return Address(
        street=_STREETS[n],
        civic_number=str(rng.randint(1, 240)),
        cap=_CAPS[n],
        comune="Roma",
        provincia="RM",
    )


def workshop_profile(seed: int, mode: BillingMode = BillingMode.FATTURA) -> Workshop:
    """Officine Zero as the seller: a cooperative issuing fatture, or an association."""
    rng = random.Random(f"{seed}/workshop")  # noqa: S311 - a simulation, not a secret
    address = Address(
        street="Via dei Lavoratori", civic_number="1", cap="00159", comune="Roma", provincia="RM"
    )
    iban = italian_iban(rng)
    if mode is BillingMode.RENDICONTO:
        return Workshop(
            legal_name="Associazione Officine Zero APS",
            fiscal_code=association_code(rng),
            address=address,
            iban=iban,
            payment_terms_days=30,
            billing_mode=mode,
        )
    vat_number = partita_iva(rng)
    return Workshop(
        legal_name="Officine Zero Società Cooperativa",
        vat_number=vat_number,
        fiscal_code=vat_number,
        regime=RegimeFiscale.RF01,
        address=address,
        rea=Rea(
            office="RM",
            number=str(rng.randint(1_400_000, 1_699_999)),
            share_capital_cents=rng.randrange(5, 50) * 100_000,
            sole_shareholder=SoleShareholder.SEVERAL,
        ),
        iban=iban,
        payment_terms_days=30,
        billing_mode=mode,
    )


def _person(name: str, female: bool, rng: random.Random) -> Person:
    first, _, last = name.partition(" ")
    born = date(1965, 1, 1) + timedelta(days=rng.randrange(35 * 365))
    return Person(first_name=first, last_name=last, female=female, born=born)


def member_parties(
    members: list[tuple[str, str, bool | None]], seed: int
) -> dict[str, BillingParty]:
    """Each member's billing party, from (id, name, female) with None for an organisation.

    The private persons and artisans take turns at PEC, tax drawer and P.IVA in an order the
    seed shuffles, so every month bills the whole mix.
    """
    rng = random.Random(f"{seed}/parties")  # noqa: S311 - a simulation, not a secret
    reaches = [Reach.PEC, Reach.DRAWER, Reach.ARTISAN]
    rng.shuffle(reaches)
    parties: dict[str, BillingParty] = {}
    people = 0
    for member_id, name, female in members:
        address = _address(rng)
        if female is None:
            vat_number = partita_iva(rng)
            parties[member_id] = BillingParty(
                kind=PartyKind.ORGANISATION,
                name=name,
                vat_number=vat_number,
                fiscal_code=vat_number,
                address=address,
                recipient_code=recipient_code(rng),
            )
            continue
        person = _person(name, female, rng)
        reach = reaches[people % len(reaches)]
        people += 1
        parties[member_id] = BillingParty(
            kind=PartyKind.PERSON,
            first_name=person.first_name,
            last_name=person.last_name,
            fiscal_code=codice_fiscale(person),
            vat_number=partita_iva(rng) if reach is Reach.ARTISAN else None,
            address=address,
            recipient_code=(
                recipient_code(rng)
                if reach is Reach.ARTISAN
                else DRAWER
                if reach is Reach.DRAWER
                else None
            ),
            pec=(
                f"{person.first_name}.{person.last_name}@pec.example.it".lower()
                if reach is Reach.PEC
                else None
            ),
        )
    return parties
