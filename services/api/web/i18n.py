"""The pages' words in Italian and English, and the language each request gets."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from fastapi import Request

from services.api.web import (
    words_billing,
    words_bookings,
    words_charts,
    words_consumables,
    words_credit,
    words_fiscal,
    words_maintenance,
    words_payments,
    words_registry,
    words_setup,
    words_webhooks,
)

LANG_COOKIE = "officina_lang"


class Lang(StrEnum):
    """A language the pages speak."""

    IT = "it"
    EN = "en"


DEFAULT_LANG = Lang.IT

# One row per phrase: adding a phrase is adding a row.
_CORE: Mapping[str, tuple[str, str]] = {
    "floor": ("Officina dal vivo", "Live floor"),
    "machines": ("Macchine", "Machines"),
    "members": ("Soci", "Members"),
    "cards": ("Tessere", "Cards"),
    "qualifications": ("Abilitazioni", "Qualifications"),
    "cost_pools": ("Costi comuni", "Cost pools"),
    "statements": ("Estratti conto", "Statements"),
    "my_month": ("Il mio mese", "My month"),
    "login": ("Accedi", "Log in"),
    "logout": ("Esci", "Log out"),
    "username": ("Nome utente", "User name"),
    "password": ("Password", "Password"),
    "login_failed": ("Nome utente o password errati", "Wrong user name or password"),
    "too_many": ("Troppi tentativi: riprova più tardi", "Too many attempts: try again later"),
    "state.running": ("In lavorazione", "Running"),
    "state.idle": ("Accesa, ferma", "Idle"),
    "state.unlocked": ("Sbloccata", "Unlocked"),
    "state.locked": ("Libera", "Free"),
    "state.fault": ("Guasto", "Fault"),
    "state.offline": ("Non in linea", "Offline"),
    "since": ("da", "since"),
    "member": ("Socio", "Member"),
    "machine": ("Macchina", "Machine"),
    "amps": ("Corrente", "Current"),
    "gateway_offline": ("Gateway non in linea", "Gateway offline"),
    "live": ("in diretta", "live"),
    "reconnecting": ("riconnessione…", "reconnecting…"),
    "day": ("Giornata", "Day"),
    "month": ("Mese", "Month"),
    "started": ("Inizio", "Started"),
    "ended": ("Fine", "Ended"),
    "running_min": ("Min. in lavorazione", "Running min"),
    "unlocked_min": ("Min. sbloccata", "Unlocked min"),
    "energy_kwh": ("Energia (kWh)", "Energy (kWh)"),
    "end_reason": ("Motivo fine", "End reason"),
    "no_sessions": ("Nessuna sessione", "No sessions"),
    "total": ("Totale", "Total"),
    "sessions": ("Sessioni", "Sessions"),
    "costs_so_far": ("Costi finora", "Costs so far"),
    "number": ("Numero", "Number"),
    "status": ("Stato", "Status"),
    "download_pdf": ("Scarica PDF", "Download PDF"),
    "export_json": ("Scarica i miei dati (JSON)", "Download my data (JSON)"),
    "export_csv": ("Esporta CSV", "Export CSV"),
    "previous": ("Precedente", "Previous"),
    "next": ("Successivo", "Next"),
    "name": ("Nome", "Name"),
    "email": ("E-mail", "E-mail"),
    "id": ("Codice", "Id"),
    "add": ("Aggiungi", "Add"),
    "save": ("Salva", "Save"),
    "label": ("Etichetta", "Label"),
    "issued": ("Emessa", "Issued"),
    "revoked": ("Revocata", "Revoked"),
    "revoke": ("Revoca", "Revoke"),
    "enrol": ("Registra passando la tessera", "Enrol by badging"),
    "enrol_wait": (
        "Passa la tessera sul lettore della macchina scelta…",
        "Badge the card at the chosen machine…",
    ),
    "uid": ("UID stampato", "Printed UID"),
    "valid_until": ("Valida fino al", "Valid until"),
    "granted_by": ("Concessa da", "Granted by"),
    "withdraw": ("Ritira", "Withdraw"),
    "grant": ("Concedi", "Grant"),
    "forever": ("senza scadenza", "no expiry"),
    "pool": ("Voce", "Pool"),
    "key": ("Criterio di ripartizione", "Allocation key"),
    "key_kwh": ("kWh misurati", "Metered kWh"),
    "key_running_hours": ("Ore di lavorazione", "Running hours"),
    "key_equal": ("In parti uguali tra i soci attivi", "Equal per active member"),
    "key_member_days": ("Giorni di iscrizione", "Days of membership"),
    "key_weights": ("Pesi fissi", "Fixed weights"),
    "vat": ("IVA", "VAT"),
    "amount": ("Importo", "Amount"),
    "forbidden": ("Non puoi vedere questa pagina", "You may not see this page"),
    "not_found": ("Non trovato", "Not found"),
    "saved": ("Salvato", "Saved"),
    "error": ("Errore", "Error"),
    "lock": ("Blocca", "Lock"),
    "open_day": ("Giornata della macchina", "Machine's day"),
    "none": ("nessuno", "none"),
    "billing_unavailable": ("Fatturazione non disponibile", "Billing not available"),
}

# Each area of the pages keeps its phrases beside its router; a key is defined once.
_AREAS = (
    words_registry.WORDS,
    words_billing.WORDS,
    words_setup.WORDS,
    words_charts.WORDS,
    words_fiscal.WORDS,
    words_webhooks.WORDS,
    words_payments.WORDS,
    words_credit.WORDS,
    words_maintenance.WORDS,
    words_consumables.WORDS,
    words_bookings.WORDS,
)


def _joined(*tables: Mapping[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    joined: dict[str, tuple[str, str]] = {}
    for table in tables:
        twice = joined.keys() & table.keys()
        if twice:
            raise ValueError(f"phrase keys defined twice: {sorted(twice)}")
        joined.update(table)
    return joined


WORDS: Mapping[str, tuple[str, str]] = _joined(_CORE, *_AREAS)


def words(lang: Lang) -> dict[str, str]:
    """Every phrase in one language."""
    index = 0 if lang is Lang.IT else 1
    return {key: pair[index] for key, pair in WORDS.items()}


def language_of(request: Request) -> Lang:
    """`?lang=`, else the language cookie, else the browser's first known language, else Italian."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in {lang.value for lang in Lang}:
            return Lang(candidate)
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in {lang.value for lang in Lang}:
            return Lang(code)
    return DEFAULT_LANG
