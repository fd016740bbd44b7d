"""The EPC QR code of a transfer: the exact BCD text a banking app reads, within its limits."""

from __future__ import annotations

import io
from typing import Any

import pytest
import segno
import zxingcpp
from PIL import Image
from pydantic import ValidationError

from services.fiscal.epc import (
    MAX_PAYLOAD_BYTES,
    TransferRequest,
    epc_payload,
    epc_qr,
    epc_qr_png,
    epc_qr_svg,
)
from services.fiscal.errors import error_fields
from tests.fiscal.examples import IBAN

CREDITOR_REFERENCE = "RF18539007547034"  # the ISO 11649 example


def request(**changes: Any) -> TransferRequest:
    """A transfer of a statement's total to the workshop."""
    fields: dict[str, Any] = {
        "name": "Officina Condivisa Soc. Coop.",
        "iban": IBAN,
        "amount_cents": 24_161,
        "text": "Fattura 2026/17 del 30/11/2026",
    }
    return TransferRequest.model_validate(fields | changes)


def test_payload_is_the_bcd_lines_in_order() -> None:
    full = request(
        bic="BCITITMM",
        purpose="GDSV",
        text=None,
        reference=CREDITOR_REFERENCE,
        information="Grazie",
    )
    assert epc_payload(full).split("\n") == [
        "BCD",
        "002",
        "1",
        "SCT",
        "BCITITMM",
        "Officina Condivisa Soc. Coop.",
        IBAN,
        "EUR241.61",
        "GDSV",
        CREDITOR_REFERENCE,
        "",
        "Grazie",
    ]


def test_empty_fields_stay_as_empty_lines_and_trailing_ones_are_left_off() -> None:
    assert epc_payload(request()) == (
        "BCD\n002\n1\nSCT\n\nOfficina Condivisa Soc. Coop.\n"
        f"{IBAN}\nEUR241.61\n\n\nFattura 2026/17 del 30/11/2026"
    )
    assert epc_payload(request(amount_cents=None, text=None)) == (
        f"BCD\n002\n1\nSCT\n\nOfficina Condivisa Soc. Coop.\n{IBAN}"
    )
    assert "EUR0.05\n" in epc_payload(request(amount_cents=5))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "x" * 71}, "name"),
        ({"name": ""}, "name"),
        ({"name": "Officina\nCondivisa"}, "name"),
        ({"text": "x" * 141}, "text"),
        ({"information": "x" * 71}, "information"),
        ({"amount_cents": 0}, "amount_cents"),
        ({"amount_cents": 100_000_000_000}, "amount_cents"),
        ({"iban": "IT60X0542811101000000123457"}, "iban"),
        ({"bic": "BCIT"}, "bic"),
        ({"purpose": "gdsv"}, "purpose"),
        ({"text": None, "reference": "RF18539007547035"}, "reference"),
        ({"reference": CREDITOR_REFERENCE}, "text"),
        ({"name": "è" * 70, "text": "è" * 140, "information": "è" * 70}, "name"),
    ],
)
def test_fields_beyond_the_epc_limits_are_refused_by_name(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        request(**changes)
    assert error_fields(caught.value) == [field]


def test_longest_payload_fits_a_version_13_code_at_level_m() -> None:
    longest = request(
        bic="BCITITMMXXX", name="N" * 70, purpose="GDSV", text="T" * 140, information="I" * 49
    )
    assert len(epc_payload(longest).encode()) == MAX_PAYLOAD_BYTES
    code = epc_qr(longest)
    assert code.error == "M"
    assert isinstance(code.version, int) and code.version <= 13
    with pytest.raises(ValidationError):  # one byte more
        request(**(longest.model_dump() | {"information": "I" * 50}))


def test_a_scanner_reads_the_png_back_as_the_payload() -> None:
    transfer = request(name="Società Cooperativa Officina", text="Fattura 2026/17 — novembre")
    (scanned,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(epc_qr_png(transfer))))
    assert scanned.format == zxingcpp.BarcodeFormat.QRCode
    assert scanned.text == epc_payload(transfer)
    assert scanned.ec_level == "M"


def test_code_renders_as_png_and_svg() -> None:
    png = epc_qr_png(request(), scale=2)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    svg = epc_qr_svg(request())
    assert svg.startswith(b"<svg") and svg.rstrip().endswith(b"</svg>")
    assert (
        epc_qr(request()).matrix
        == segno.make_qr(
            epc_payload(request()), error="m", boost_error=False, encoding="utf-8"
        ).matrix
    )
