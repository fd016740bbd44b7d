"""The words of the chart pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "charts.machine_month": ("Mese della macchina", "Machine's month"),
    "charts.open_month": ("Il mese della macchina", "The machine's month"),
    "charts.day": ("Giorno", "Day"),
    "charts.hours": ("Ore al giorno", "Hours per day"),
    "charts.hours_desc": (
        "Ore in lavorazione e ore di macchina sbloccata, per ogni giorno del mese",
        "Running hours and unlocked hours, for each day of the month",
    ),
    "charts.energy": ("Energia al giorno", "Energy per day"),
    "charts.energy_desc": (
        "Energia consumata in kWh, per ogni giorno del mese",
        "Energy used in kWh, for each day of the month",
    ),
    "charts.running": ("In lavorazione", "Running"),
    "charts.unlocked": ("Sbloccata", "Unlocked"),
    "charts.energy_series": ("Energia", "Energy"),
    "charts.running_h": ("Ore in lavorazione", "Running hours"),
    "charts.unlocked_h": ("Ore sbloccata", "Unlocked hours"),
    "charts.energy_kwh": ("Energia (kWh)", "Energy (kWh)"),
    "charts.only_yours": (
        "Solo le tue sessioni su questa macchina",
        "Only your own sessions on this machine",
    ),
}
