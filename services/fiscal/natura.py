"""The `Natura` codes of 0 % lines and the stamp-duty facts that go with them.

The generic N2, N3 and N6 are still in the 1.2.3 schema but the SdI has refused them since
1 January 2021 (specifications 1.6.1), so they are not offered here.
"""

from __future__ import annotations

from enum import StrEnum


class Natura(StrEnum):
    """Why a line carries no VAT (`Natura`)."""

    N1 = "N1"  # escluse ex art. 15
    N2_1 = "N2.1"  # non soggette, artt. 7 - 7-septies
    N2_2 = "N2.2"  # non soggette, altri casi
    N3_1 = "N3.1"  # non imponibili, esportazioni
    N3_2 = "N3.2"  # non imponibili, cessioni intracomunitarie
    N3_3 = "N3.3"  # non imponibili, cessioni verso San Marino
    N3_4 = "N3.4"  # non imponibili, operazioni assimilate alle esportazioni
    N3_5 = "N3.5"  # non imponibili, a seguito di dichiarazioni d'intento
    N3_6 = "N3.6"  # non imponibili, altre operazioni
    N4 = "N4"  # esenti
    N5 = "N5"  # regime del margine
    N6_1 = "N6.1"  # inversione contabile, rottami
    N6_2 = "N6.2"  # inversione contabile, oro e argento
    N6_3 = "N6.3"  # inversione contabile, subappalto edile
    N6_4 = "N6.4"  # inversione contabile, fabbricati
    N6_5 = "N6.5"  # inversione contabile, telefoni cellulari
    N6_6 = "N6.6"  # inversione contabile, prodotti elettronici
    N6_7 = "N6.7"  # inversione contabile, comparto edile
    N6_8 = "N6.8"  # inversione contabile, settore energetico
    N6_9 = "N6.9"  # inversione contabile, altri casi
    N7 = "N7"  # IVA assolta in altro Stato UE


# Amounts without VAT bear the 2.00 EUR stamp duty (DPR 642/72, tariff art. 13) above 77.47 EUR.
# Exports and operations treated as exports (N3.1, N3.3, N3.4), intra-EU supplies (N3.2, art. 66
# DL 331/93), reverse charge (N6.x: VAT is due, by the buyer) and VAT paid elsewhere (N7) do not.
STAMP_DUTY_NATURE = frozenset(
    {Natura.N1, Natura.N2_1, Natura.N2_2, Natura.N3_5, Natura.N3_6, Natura.N4, Natura.N5}
)
