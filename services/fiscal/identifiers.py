"""Italian fiscal identifiers, checked to their check character, and the Italian sigle.

python-stdnum checks the codice fiscale (16 characters for a person, omocodia included; 11
digits for an organisation), the partita IVA and the IBAN (country format and mod-97). Each
function returns the identifier in its compact, upper-case form or raises `ValueError` with the
reason, which pydantic reports against the field that held it.
"""

from __future__ import annotations

import re

from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.it import codicefiscale, iva

# The sigle of the Italian provinces and metropolitan cities, as the Agenzia delle Entrate and
# the motor registry write them. CI, OG, OT and VS were abolished in 2016 and brought back by the
# Sardinian reform of 2021-2025: documents of both periods carry them, so both are accepted.
PROVINCE_SIGLE = frozenset(
    [
        "AG",
        "AL",
        "AN",
        "AO",
        "AP",
        "AQ",
        "AR",
        "AT",
        "AV",
        "BA",
        "BG",
        "BI",
        "BL",
        "BN",
        "BO",
        "BR",
        "BS",
        "BT",
        "BZ",
        "CA",
        "CB",
        "CE",
        "CH",
        "CI",
        "CL",
        "CN",
        "CO",
        "CR",
        "CS",
        "CT",
        "CZ",
        "EN",
        "FC",
        "FE",
        "FG",
        "FI",
        "FM",
        "FR",
        "GE",
        "GO",
        "GR",
        "IM",
        "IS",
        "KR",
        "LC",
        "LE",
        "LI",
        "LO",
        "LT",
        "LU",
        "MB",
        "MC",
        "ME",
        "MI",
        "MN",
        "MO",
        "MS",
        "MT",
        "NA",
        "NO",
        "NU",
        "OG",
        "OR",
        "OT",
        "PA",
        "PC",
        "PD",
        "PE",
        "PG",
        "PI",
        "PN",
        "PO",
        "PR",
        "PT",
        "PU",
        "PV",
        "PZ",
        "RA",
        "RC",
        "RE",
        "RG",
        "RI",
        "RM",
        "RN",
        "RO",
        "SA",
        "SI",
        "SO",
        "SP",
        "SR",
        "SS",
        "SU",
        "SV",
        "TA",
        "TE",
        "TN",
        "TO",
        "TP",
        "TR",
        "TS",
        "TV",
        "UD",
        "VA",
        "VB",
        "VC",
        "VE",
        "VI",
        "VR",
        "VS",
        "VT",
        "VV",
    ]
)

NO_RECIPIENT_CODE = "0000000"  # the SdI's code for "deliver by PEC, or to the tax drawer"

_CAP = re.compile(r"\d{5}")
_RECIPIENT_CODE = re.compile(r"[A-Z0-9]{7}")
# The schema's EmailType atoms: printable ASCII without specials; the domain needs a dot here.
_ATOM = r"[!#-'*+/-9=?A-Z^-~-]+"
_PEC = re.compile(rf"{_ATOM}(\.{_ATOM})*@{_ATOM}(\.{_ATOM})+")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _compact(value: str) -> str:
    return "".join(value.split()).upper()


def codice_fiscale(value: str) -> str:
    """A person's (16 characters, omocodia too) or an organisation's (11 digits) codice fiscale."""
    number = _compact(value)
    try:
        return str(codicefiscale.validate(number))
    except StdnumValidationError as err:
        raise ValueError(f"{value!r} is not a valid codice fiscale ({err})") from err


def partita_iva(value: str) -> str:
    """An 11-digit partita IVA with its check digit (an `IT` prefix is dropped)."""
    number = _compact(value).removeprefix("IT")
    try:
        return str(iva.validate(number))
    except StdnumValidationError as err:
        raise ValueError(f"{value!r} is not a valid partita IVA ({err})") from err


def iban(value: str) -> str:
    """An IBAN whose country format and mod-97 check digits hold."""
    number = _compact(value)
    try:
        return str(stdnum_iban.validate(number))
    except StdnumValidationError as err:
        raise ValueError(f"{value!r} is not a valid IBAN ({err})") from err


def cap(value: str) -> str:
    """An Italian postcode: five digits."""
    if not _CAP.fullmatch(value):
        raise ValueError(f"{value!r} is not a CAP (five digits)")
    return value


def provincia(value: str) -> str:
    """The two-letter sigla of an Italian province."""
    sigla = value.strip().upper()
    if sigla not in PROVINCE_SIGLE:
        raise ValueError(f"{value!r} is not the sigla of an Italian province")
    return sigla


def country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country code, as FatturaPA writes `Nazione` and `IdPaese`."""
    code = value.strip().upper()
    if not _COUNTRY.fullmatch(code):
        raise ValueError(f"{value!r} is not a two-letter country code")
    return code


def recipient_code(value: str) -> str:
    """The SdI recipient code (`CodiceDestinatario`): seven letters or digits."""
    code = value.strip().upper()
    if not _RECIPIENT_CODE.fullmatch(code):
        raise ValueError(f"{value!r} is not an SdI recipient code (seven letters or digits)")
    return code


def pec(value: str) -> str:
    """A certified e-mail address (`PECDestinatario`), 7 to 256 characters."""
    address = value.strip()
    if not (_PEC.fullmatch(address) and 7 <= len(address) <= 256):
        raise ValueError(f"{value!r} is not an e-mail address")
    return address


def latin_text(value: str) -> str:
    """Text the schema's Latin types accept: Basic Latin and Latin-1, no control characters."""
    for char in value:
        code = ord(char)
        if code > 0xFF or code < 0x20 or 0x7F <= code <= 0x9F:
            raise ValueError(f"{char!r} cannot be written in a FatturaPA (Latin-1 text only)")
    return value
