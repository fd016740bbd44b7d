"""The EPC QR code of a SEPA credit transfer (EPC069-12, "BCD", version 002) for a statement.

A banking app that scans it fills in the transfer: beneficiary, IBAN, amount and reference.
Lines are joined by LF; trailing empty fields are left off; the payload is at most 331 bytes of
UTF-8 (character set 1) and the code is drawn at error correction level M, version 13 at most.
"""

from __future__ import annotations

import io
import re
from typing import Annotated

import segno
from pydantic import AfterValidator, Field, model_validator
from stdnum import bic as stdnum_bic
from stdnum import iso11649
from stdnum.exceptions import ValidationError as StdnumValidationError

from services.fiscal.errors import FiscalInputError
from services.fiscal.fatturapa import amount
from services.fiscal.profiles import FrozenModel, Iban

SERVICE_TAG = "BCD"
VERSION = "002"
CHARSET_UTF8 = "1"
IDENTIFICATION = "SCT"
MAX_PAYLOAD_BYTES = 331
MAX_AMOUNT_CENTS = 99_999_999_999  # EUR 999,999,999.99
MAX_QR_VERSION = 13

_PURPOSE = re.compile(r"[A-Z0-9]{4}")


def _bic(value: str) -> str:
    try:
        return str(stdnum_bic.validate(value))
    except StdnumValidationError as err:
        raise ValueError(f"{value!r} is not a BIC ({err})") from err


def _creditor_reference(value: str) -> str:
    try:
        return str(iso11649.validate(value))
    except StdnumValidationError as err:
        raise ValueError(f"{value!r} is not an ISO 11649 creditor reference ({err})") from err


def _purpose(value: str) -> str:
    if not _PURPOSE.fullmatch(value):
        raise ValueError(f"{value!r} is not a purpose code (four capital letters or digits)")
    return value


def _one_line(value: str) -> str:
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        raise ValueError("a field of the code holds no line break or control character")
    return value


Line = Annotated[str, AfterValidator(_one_line)]
Bic = Annotated[str, AfterValidator(_bic)]
CreditorReference = Annotated[str, AfterValidator(_creditor_reference)]
Purpose = Annotated[str, AfterValidator(_purpose)]


class TransferRequest(FrozenModel):
    """What the code asks the payer's bank to transfer, and to whom."""

    name: Line = Field(min_length=1, max_length=70)
    iban: Iban
    amount_cents: int | None = Field(default=None, ge=1, le=MAX_AMOUNT_CENTS, strict=True)
    bic: Bic | None = None
    purpose: Purpose | None = None
    reference: CreditorReference | None = None
    text: Line | None = Field(default=None, min_length=1, max_length=140)
    information: Line | None = Field(default=None, min_length=1, max_length=70)

    @model_validator(mode="after")
    def _fits(self) -> TransferRequest:
        if self.reference is not None and self.text is not None:
            raise FiscalInputError("text", "give a structured reference or a text, not both")
        if len(epc_payload(self).encode()) > MAX_PAYLOAD_BYTES:
            raise FiscalInputError("name", f"the code is longer than {MAX_PAYLOAD_BYTES} bytes")
        return self


def epc_payload(request: TransferRequest) -> str:
    """The EPC069-12 text: one field a line, from the service tag to the information."""
    fields = [
        SERVICE_TAG,
        VERSION,
        CHARSET_UTF8,
        IDENTIFICATION,
        request.bic or "",
        request.name,
        request.iban,
        f"EUR{amount(request.amount_cents)}" if request.amount_cents is not None else "",
        request.purpose or "",
        request.reference or "",
        request.text or "",
        request.information or "",
    ]
    while not fields[-1]:
        fields.pop()
    return "\n".join(fields)


def epc_qr(request: TransferRequest) -> segno.QRCode:
    """The QR code of the transfer, at error correction level M as EPC069-12 requires."""
    code = segno.make_qr(epc_payload(request), error="m", boost_error=False, encoding="utf-8")
    # 331 bytes at level M is exactly what version 13 holds: the payload check keeps it there.
    if not isinstance(code.version, int) or code.version > MAX_QR_VERSION:
        raise FiscalInputError("name", f"the code needs QR version {code.version}")
    return code


def epc_qr_png(request: TransferRequest, *, scale: int = 4) -> bytes:
    """The transfer's QR code as PNG bytes, with the four-module quiet zone."""
    out = io.BytesIO()
    epc_qr(request).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def epc_qr_svg(request: TransferRequest, *, scale: int = 4) -> bytes:
    """The transfer's QR code as SVG bytes, with the four-module quiet zone."""
    out = io.BytesIO()
    epc_qr(request).save(out, kind="svg", scale=scale, border=4, xmldecl=False)
    return out.getvalue()
