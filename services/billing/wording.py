"""The words on statements and e-mails, in Italian and English; Babel formats the numbers."""

from __future__ import annotations

from enum import StrEnum


class Word(StrEnum):
    """Every label billing prints."""

    STATEMENT = "statement"
    CREDIT_NOTE = "credit_note"
    DRAFT = "draft"
    NUMBER = "number"
    ISSUED = "issued"
    PERIOD = "period"
    MEMBER = "member"
    MACHINE_TIME = "machine_time"
    MACHINE = "machine"
    SESSIONS = "sessions"
    RUNNING = "running"
    UNLOCKED = "unlocked"
    ENERGY = "energy"
    FREE = "free"
    AMOUNT = "amount"
    SHARED_COSTS = "shared_costs"
    POOL = "pool"
    KEY = "key"
    YOUR_QUANTITY = "your_quantity"
    OF_TOTAL = "of_total"
    PLAN = "plan"
    DAYS = "days"
    ALLOWANCE = "allowance"
    USED = "used"
    NET = "net"
    VAT = "vat"
    RATE = "rate"
    TOTAL = "total"
    SESSION_LIST = "session_list"
    START = "start"
    END = "end"
    DAY = "day"
    CREDITS = "credits"
    REASON = "reason"
    REMAINDER = "remainder"
    MINIMUM = "minimum"
    SPLIT = "split"
    MAIL_BODY = "mail_body"
    CREDIT = "credit"
    KEY_KWH = "kwh"
    KEY_RUNNING_HOURS = "running_hours"
    KEY_EQUAL = "equal"
    KEY_MEMBER_DAYS = "member_days"
    KEY_WEIGHTS = "weights"
    PAGE = "page"


# Babel locale of each language billing speaks.
LANGUAGES: dict[str, str] = {"it": "it_IT", "en": "en_GB"}

WORDS: dict[Word, tuple[str, str]] = {  # (it, en)
    Word.STATEMENT: ("Estratto conto", "Statement"),
    Word.CREDIT_NOTE: ("Nota di credito", "Credit note"),
    Word.DRAFT: ("BOZZA", "DRAFT"),
    Word.NUMBER: ("Numero", "Number"),
    Word.ISSUED: ("Emesso il", "Issued on"),
    Word.PERIOD: ("Periodo", "Period"),
    Word.MEMBER: ("Socio", "Member"),
    Word.MACHINE_TIME: ("Uso delle macchine", "Machine time"),
    Word.MACHINE: ("Macchina", "Machine"),
    Word.SESSIONS: ("Sessioni", "Sessions"),
    Word.RUNNING: ("In lavoro (min)", "Running (min)"),
    Word.UNLOCKED: ("Sbloccata (min)", "Unlocked (min)"),
    Word.ENERGY: ("Energia (kWh)", "Energy (kWh)"),
    Word.FREE: ("Incluse (min)", "Included (min)"),
    Word.AMOUNT: ("Importo", "Amount"),
    Word.SHARED_COSTS: ("Costi comuni", "Shared costs"),
    Word.POOL: ("Voce", "Cost"),
    Word.KEY: ("Criterio", "Split by"),
    Word.YOUR_QUANTITY: ("Tua quota", "Yours"),
    Word.OF_TOTAL: ("su totale", "of total"),
    Word.PLAN: ("Piano", "Plan"),
    Word.DAYS: ("giorni", "days"),
    Word.ALLOWANCE: ("Ore incluse", "Included time"),
    Word.USED: ("usate", "used"),
    Word.NET: ("Imponibile", "Net"),
    Word.VAT: ("IVA", "VAT"),
    Word.RATE: ("Aliquota", "Rate"),
    Word.TOTAL: ("Totale", "Total"),
    Word.SESSION_LIST: ("Dettaglio sessioni", "Sessions in detail"),
    Word.START: ("Inizio", "Start"),
    Word.END: ("Fine", "End"),
    Word.DAY: ("Giorno", "Day"),
    Word.CREDITS: ("Rettifica", "Corrects"),
    Word.REASON: ("Motivo", "Reason"),
    Word.REMAINDER: ("quota non misurata", "unmetered part"),
    Word.MINIMUM: ("minimo", "minimum"),
    Word.SPLIT: ("divisa a fine mese", "split at month end"),
    Word.MAIL_BODY: (
        "In allegato il documento {number} ({period}) di {workshop}. Totale: {total}.",
        "Attached is {workshop}'s document {number} ({period}). Total: {total}.",
    ),
    Word.CREDIT: ("Storno", "Credit"),
    Word.KEY_KWH: ("kWh misurati", "metered kWh"),
    Word.KEY_RUNNING_HOURS: ("ore di lavoro", "running hours"),
    Word.KEY_EQUAL: ("in parti uguali", "equal shares"),
    Word.KEY_MEMBER_DAYS: ("giorni da socio", "days of membership"),
    Word.KEY_WEIGHTS: ("pesi fissi", "fixed weights"),
    Word.PAGE: ("Pagina", "Page"),
}


def say(word: Word, language: str) -> str:
    """A label in a language (Italian for any language billing does not speak)."""
    italian, english = WORDS[word]
    return english if language == "en" else italian


def babel_locale(language: str) -> str:
    """The Babel locale for a language billing speaks."""
    return LANGUAGES.get(language, LANGUAGES["it"])
