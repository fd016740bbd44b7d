"""The fiscal words of statements, in Italian and English: one table per Natura code and mode.

The PDF prints these beside the amounts; the FatturaPA writer takes `legal_reference` as the
default `RiferimentoNormativo` of a summary whose lines name none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from services.fiscal.natura import Natura
from services.fiscal.profiles import BillingMode


class Locale(StrEnum):
    """The languages a statement is printed in."""

    IT = "it"
    EN = "en"


@dataclass(frozen=True)
class NaturaWording:
    """What a Natura code means, in each language, and the law it rests on."""

    it: str
    en: str
    legal_reference: str  # Italian, at most 100 characters: `RiferimentoNormativo`

    def text(self, locale: Locale) -> str:
        """The meaning in one language."""
        return self.it if locale is Locale.IT else self.en


@dataclass(frozen=True)
class ModeWording:
    """The title and notice of a workshop's statements in one billing mode."""

    title_it: str
    title_en: str
    notice_it: str
    notice_en: str

    def title(self, locale: Locale) -> str:
        """The document's title in one language."""
        return self.title_it if locale is Locale.IT else self.title_en

    def notice(self, locale: Locale) -> str:
        """The fiscal notice printed under the totals, in one language."""
        return self.notice_it if locale is Locale.IT else self.notice_en


_REVERSE = "Inversione contabile art. 17 c. 6"

NATURA_WORDING: Mapping[Natura, NaturaWording] = MappingProxyType(
    {
        Natura.N1: NaturaWording(
            "Operazione esclusa dalla base imponibile ex art. 15 DPR 633/72",
            "Excluded from the taxable amount under art. 15 of Presidential Decree 633/72",
            "Escluso art. 15 DPR 633/72",
        ),
        Natura.N2_1: NaturaWording(
            "Operazione non soggetta a IVA ai sensi degli artt. da 7 a 7-septies DPR 633/72",
            "Outside the territorial scope of Italian VAT (arts. 7 to 7-septies DPR 633/72)",
            "Non soggetto artt. da 7 a 7-septies DPR 633/72",
        ),
        Natura.N2_2: NaturaWording(
            "Operazione fuori campo IVA ai sensi dell'art. 4, comma 4, DPR 633/72",
            "Outside the scope of VAT under art. 4(4) of Presidential Decree 633/72",
            "Fuori campo IVA art. 4 c. 4 DPR 633/72",
        ),
        Natura.N3_1: NaturaWording(
            "Operazione non imponibile: esportazione",
            "Zero-rated: export",
            "Non imponibile art. 8 c. 1 lett. a DPR 633/72",
        ),
        Natura.N3_2: NaturaWording(
            "Operazione non imponibile: cessione intracomunitaria",
            "Zero-rated: intra-EU supply",
            "Non imponibile art. 41 DL 331/93",
        ),
        Natura.N3_3: NaturaWording(
            "Operazione non imponibile: cessione verso San Marino",
            "Zero-rated: supply to San Marino",
            "Non imponibile art. 71 DPR 633/72",
        ),
        Natura.N3_4: NaturaWording(
            "Operazione non imponibile assimilata alle esportazioni",
            "Zero-rated: treated as an export",
            "Non imponibile art. 8-bis DPR 633/72",
        ),
        Natura.N3_5: NaturaWording(
            "Operazione non imponibile a seguito di dichiarazione d'intento",
            "Zero-rated under a declaration of intent",
            "Non imponibile art. 8 c. 1 lett. c DPR 633/72",
        ),
        Natura.N3_6: NaturaWording(
            "Operazione non imponibile che non concorre alla formazione del plafond",
            "Zero-rated, not counted towards the export ceiling",
            "Non imponibile art. 72 DPR 633/72",
        ),
        Natura.N4: NaturaWording(
            "Operazione esente da IVA",
            "Exempt from VAT",
            "Esente art. 10 DPR 633/72",
        ),
        Natura.N5: NaturaWording(
            "Regime del margine: IVA non esposta in fattura",
            "Margin scheme: VAT not shown on the invoice",
            "Regime del margine art. 36 DL 41/95",
        ),
        Natura.N6_1: NaturaWording(
            "Inversione contabile: cessione di rottami e materiali di recupero",
            "Reverse charge: scrap and salvage materials",
            "Inversione contabile art. 74 c. 7 e 8 DPR 633/72",
        ),
        Natura.N6_2: NaturaWording(
            "Inversione contabile: cessione di oro e argento",
            "Reverse charge: gold and silver",
            "Inversione contabile art. 17 c. 5 DPR 633/72",
        ),
        Natura.N6_3: NaturaWording(
            "Inversione contabile: subappalto nel settore edile",
            "Reverse charge: subcontracting in construction",
            f"{_REVERSE} lett. a DPR 633/72",
        ),
        Natura.N6_4: NaturaWording(
            "Inversione contabile: cessione di fabbricati",
            "Reverse charge: sale of buildings",
            f"{_REVERSE} lett. a-bis DPR 633/72",
        ),
        Natura.N6_5: NaturaWording(
            "Inversione contabile: cessione di telefoni cellulari",
            "Reverse charge: mobile phones",
            f"{_REVERSE} lett. b DPR 633/72",
        ),
        Natura.N6_6: NaturaWording(
            "Inversione contabile: cessione di prodotti elettronici",
            "Reverse charge: electronic products",
            f"{_REVERSE} lett. c DPR 633/72",
        ),
        Natura.N6_7: NaturaWording(
            "Inversione contabile: prestazioni del comparto edile e settori connessi",
            "Reverse charge: construction and related services",
            f"{_REVERSE} lett. a-ter DPR 633/72",
        ),
        Natura.N6_8: NaturaWording(
            "Inversione contabile: operazioni del settore energetico",
            "Reverse charge: energy sector",
            f"{_REVERSE} lett. d-bis, d-ter, d-quater DPR 633/72",
        ),
        Natura.N6_9: NaturaWording(
            "Inversione contabile: altri casi",
            "Reverse charge: other cases",
            "Inversione contabile art. 17 c. 2 DPR 633/72",
        ),
        Natura.N7: NaturaWording(
            "IVA assolta in altro Stato UE",
            "VAT paid in another EU member state",
            "IVA assolta in altro Stato UE art. 74-sexies DPR 633/72",
        ),
    }
)

MODE_WORDING: Mapping[BillingMode, ModeWording] = MappingProxyType(
    {
        BillingMode.FATTURA: ModeWording(
            "Fattura",
            "Invoice",
            "Copia di cortesia: l'originale è la fattura elettronica trasmessa tramite il"
            " Sistema di Interscambio (SdI).",
            "Courtesy copy: the original is the electronic invoice sent through the Italian"
            " exchange system (SdI).",
        ),
        BillingMode.RENDICONTO: ModeWording(
            "Rendiconto",
            "Statement of account",
            "Documento non fiscale. Corrispettivi specifici versati da associati in conformità"
            " alle finalità istituzionali: operazione fuori campo IVA ai sensi dell'art. 4,"
            " comma 4, del DPR 633/1972.",
            "Not a tax document. Specific fees paid by members in furtherance of the"
            " association's statutory purpose: outside the scope of VAT under art. 4(4) of"
            " Presidential Decree 633/1972.",
        ),
    }
)

CREDIT_NOTE_TITLE: Mapping[Locale, str] = MappingProxyType(
    {Locale.IT: "Nota di credito", Locale.EN: "Credit note"}
)

STAMP_DUTY_NOTICE: Mapping[Locale, str] = MappingProxyType(
    {
        Locale.IT: "Imposta di bollo assolta in modo virtuale ai sensi dell'art. 6 del"
        " DM 17 giugno 2014.",
        Locale.EN: "Stamp duty paid virtually under art. 6 of the Ministerial Decree of"
        " 17 June 2014.",
    }
)


def natura_text(natura: Natura, locale: Locale) -> str:
    """What a Natura code means, for a line or a summary on the PDF."""
    return NATURA_WORDING[natura].text(locale)


def legal_reference(natura: Natura) -> str:
    """The default `RiferimentoNormativo` of a Natura code."""
    return NATURA_WORDING[natura].legal_reference
