"""The words of the consumables pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "cons_title": ("Materiali", "Materials"),
    "cons_materials": ("Materiali presi", "Materials taken"),
    "cons_item": ("Articolo", "Item"),
    "cons_unit": ("Unità", "Unit"),
    "cons_price": ("Prezzo unitario", "Unit price"),
    "cons_price_cents": ("Prezzo unitario (centesimi)", "Unit price (cents)"),
    "cons_vat_bp": ("IVA (punti base)", "VAT (basis points)"),
    "cons_stock": ("In magazzino", "In stock"),
    "cons_low_stock": ("Soglia di riordino", "Low-stock threshold"),
    "cons_low": ("Da riordinare", "Low stock"),
    "cons_low_count": ("materiali da riordinare", "materials low on stock"),
    "cons_machines": (
        "Macchine (sito/macchina, separate da virgole)",
        "Machines (site/machine, comma-separated)",
    ),
    "cons_everywhere": ("ovunque", "everywhere"),
    "cons_add": ("Aggiungi articolo", "Add an item"),
    "cons_restock": ("Rifornisci", "Restock"),
    "cons_quantity": ("Quantità", "Quantity"),
    "cons_take": ("Prendi", "Take"),
    "cons_take_for": ("Registra per il socio", "Record for member"),
    "cons_taken": ("Registrato", "Recorded"),
    "cons_recent": ("Ultimi prelievi", "Recent takes"),
    "cons_when": ("Quando", "When"),
    "cons_none": ("Nessun materiale in catalogo", "No materials in the catalogue"),
    "cons_at_machine": ("Materiali a questa macchina", "Materials at this machine"),
    "cons_refused": ("Rifiutato", "Refused"),
    "cons_by": ("Registrato da", "Recorded by"),
    "cons_retire": ("Ritira", "Retire"),
    "cons_unretire": ("Rimetti in vendita", "Sell again"),
    "cons_retired": ("Ritirato", "Retired"),
    "cons_party": ("Intestato a", "Billed to"),
    "cons_party_id": ("Intestatario (n.)", "Party (no.)"),
    "cons_party_default": ("predefinito", "default"),
    "cons_taken_on": ("Giorno", "Day"),
}
