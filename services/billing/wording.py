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
    REMINDER_SUBJECT = "reminder_subject"
    REMINDER_BODY = "reminder_body"
    CREDIT = "credit"
    KEY_KWH = "kwh"
    KEY_RUNNING_HOURS = "running_hours"
    KEY_EQUAL = "equal"
    KEY_MEMBER_DAYS = "member_days"
    KEY_WEIGHTS = "weights"
    PAGE = "page"
    QUANTITY = "quantity"
    ALL_MACHINES = "all_machines"
    NOTES = "notes"
    PACKS = "packs"
    PACK_DRAWN = "pack_drawn"
    PAID_FROM_CREDIT = "paid_from_credit"
    STILL_OWED = "still_owed"
    CREDIT_LEFT = "credit_left"
    CONSUMABLES = "consumables"
    BOOKINGS = "bookings"
    BOOKING_USED = "booking_used"
    NO_SHOW = "no_show"
    WHAT = "what"
    ITEM = "item"
    UNIT_PRICE = "unit_price"
    ISSUER = "issuer"
    BILL_TO = "bill_to"
    VAT_NUMBER = "vat_number"
    FISCAL_CODE = "fiscal_code"
    SHARE_CAPITAL = "share_capital"
    IN_LIQUIDATION = "in_liquidation"
    SOLE_SHAREHOLDER = "sole_shareholder"
    RECIPIENT_CODE = "recipient_code"
    NOT_AN_INVOICE = "not_an_invoice"
    COURTESY_COPY = "courtesy_copy"
    ELECTRONIC_INVOICE = "electronic_invoice"
    ELECTRONIC_CREDIT_NOTE = "electronic_credit_note"
    CORRECTS_DOCUMENT = "corrects_document"
    PAYMENT = "payment"
    AMOUNT_DUE = "amount_due"
    DUE_DATE = "due_date"
    BENEFICIARY = "beneficiary"
    PAYMENT_REFERENCE = "payment_reference"
    SCAN_TO_PAY = "scan_to_pay"


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
    Word.RUNNING: ("In lavoro", "Running"),
    Word.UNLOCKED: ("Sbloccata", "Unlocked"),
    Word.ENERGY: ("Energia", "Energy"),
    Word.FREE: ("Incluse", "Included"),
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
    Word.MINIMUM: ("importo minimo per sessione", "minimum charge per session"),
    Word.SPLIT: ("divisa a fine mese", "split at month end"),
    Word.MAIL_BODY: (
        "In allegato il documento {number} ({period}) di {workshop}. Totale: {total}.",
        "Attached is {workshop}'s document {number} ({period}). Total: {total}.",
    ),
    Word.REMINDER_SUBJECT: ("Promemoria di pagamento", "Payment reminder"),
    Word.REMINDER_BODY: (
        "Il documento {number} di {workshop} era da pagare entro il {due}: restano {open}."
        " Riferimento per il bonifico: {reference}. Se ha già pagato, non tenga conto di"
        " questo messaggio.",
        "{workshop}'s document {number} was due on {due}: {open} is still to be paid."
        " Reference for the transfer: {reference}. If you have paid already, please"
        " disregard this message.",
    ),
    Word.CREDIT: ("Storno", "Credit"),
    Word.KEY_KWH: ("kWh misurati", "metered kWh"),
    Word.KEY_RUNNING_HOURS: ("ore di lavoro", "running hours"),
    Word.KEY_EQUAL: ("in parti uguali", "equal shares"),
    Word.KEY_MEMBER_DAYS: ("giorni da socio", "days of membership"),
    Word.KEY_WEIGHTS: ("pesi fissi", "fixed weights"),
    Word.PAGE: ("Pagina", "Page"),
    Word.QUANTITY: ("Quantità", "Quantity"),
    Word.ALL_MACHINES: ("tutte le macchine", "every machine"),
    Word.NOTES: ("Note", "Notes"),
    Word.PACKS: ("Pacchetti", "Packs"),
    Word.PACK_DRAWN: ("usato dal pacchetto", "drawn from the pack"),
    Word.PAID_FROM_CREDIT: ("Pagato con il credito", "Paid from credit"),
    Word.STILL_OWED: ("Resta da pagare", "Still owed"),
    Word.CREDIT_LEFT: ("Credito residuo", "Credit left"),
    Word.CONSUMABLES: ("Materiali", "Materials"),
    Word.BOOKINGS: ("Prenotazioni", "Bookings"),
    Word.BOOKING_USED: ("Prenotazione usata", "Booking used"),
    Word.NO_SHOW: ("Prenotazione mancata", "No-show"),
    Word.WHAT: ("Voce", "What"),
    Word.ITEM: ("Articolo", "Item"),
    Word.UNIT_PRICE: ("Prezzo unitario", "Unit price"),
    Word.ISSUER: ("Emittente", "From"),
    Word.BILL_TO: ("Intestatario", "Bill to"),
    Word.VAT_NUMBER: ("P. IVA", "VAT no."),
    Word.FISCAL_CODE: ("C.F.", "Tax code"),
    Word.SHARE_CAPITAL: ("Capitale sociale", "Share capital"),
    Word.IN_LIQUIDATION: ("in liquidazione", "in liquidation"),
    Word.SOLE_SHAREHOLDER: ("socio unico", "sole shareholder"),
    Word.RECIPIENT_CODE: ("Codice destinatario", "SdI recipient code"),
    Word.NOT_AN_INVOICE: ("non costituisce fattura", "not an invoice"),
    Word.COURTESY_COPY: (
        "Copia di cortesia della {document} n. {number}, il documento fiscale è quello"
        " trasmesso tramite SdI.",
        "Courtesy copy of {document} no. {number}; the tax document is the one sent through"
        " the SdI.",
    ),
    Word.ELECTRONIC_INVOICE: ("fattura elettronica", "electronic invoice"),
    Word.ELECTRONIC_CREDIT_NOTE: ("nota di credito elettronica", "electronic credit note"),
    Word.CORRECTS_DOCUMENT: (
        "Rettifica il documento n. {number} del {day}.",
        "Corrects document no. {number} of {day}.",
    ),
    Word.PAYMENT: ("Pagamento", "Payment"),
    Word.AMOUNT_DUE: ("Importo da pagare", "Amount due"),
    Word.DUE_DATE: ("Scadenza", "Due by"),
    Word.BENEFICIARY: ("Beneficiario", "Beneficiary"),
    Word.PAYMENT_REFERENCE: ("Riferimento (da indicare)", "Reference (please quote)"),
    Word.SCAN_TO_PAY: (
        "Bonifico SEPA: inquadra il codice con l'app della banca.",
        "SEPA transfer: scan the code with your banking app.",
    ),
}


def say(word: Word, language: str) -> str:
    """A label in a language (Italian for any language billing does not speak)."""
    italian, english = WORDS[word]
    return english if language == "en" else italian


def babel_locale(language: str) -> str:
    """The Babel locale for a language billing speaks."""
    return LANGUAGES.get(language, LANGUAGES["it"])
