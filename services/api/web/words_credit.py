"""The words of the credit and packs pages, Italian then English: a phrase is a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "credit_title": ("Credito e pacchetti", "Credit and packs"),
    "credit_balance": ("Credito disponibile", "Credit balance"),
    "credit_history": ("Movimenti del credito", "Credit history"),
    "credit_none": ("Nessun movimento", "No movement yet"),
    "credit_when": ("Quando", "When"),
    "credit_kind.top_up": ("Ricarica", "Top-up"),
    "credit_kind.statement": ("Addebito estratto conto", "Statement paid"),
    "credit_kind.correction": ("Rettifica", "Correction"),
    "credit_amount": ("Importo", "Amount"),
    "credit_after": ("Saldo dopo", "Balance after"),
    "credit_by": ("Registrato da", "Recorded by"),
    "credit_note": ("Causale", "Note"),
    "credit_top_up": ("Registra una ricarica", "Record a top-up"),
    "credit_amount_eur": ("Importo (€)", "Amount (€)"),
    "credit_save": ("Registra", "Record"),
    "credit_packs": ("Pacchetti", "Packs"),
    "credit_no_packs": ("Nessun pacchetto", "No pack"),
    "credit_pack_left": ("Rimasto", "Left"),
    "credit_pack_until": ("Valido fino al", "Valid until"),
    "credit_sell_pack": ("Vendi un pacchetto", "Sell a pack"),
    "credit_sell": ("Vendi", "Sell"),
    "credit_drawn": ("Pagato con il credito", "Paid from credit"),
    "credit_owed": ("Resta da pagare", "Still owed"),
    "credit_balance_after": ("Credito residuo", "Credit left"),
    "credit_done.topped_up": ("Ricarica registrata", "Top-up recorded"),
    "credit_done.sold": ("Pacchetto venduto", "Pack sold"),
    "pay_how.credit": ("sul credito", "put on credit"),
    "bill_pack": ("Pacchetto", "Pack"),
    "bill_pack_draw": ("Usato dal pacchetto", "Drawn from pack"),
}
