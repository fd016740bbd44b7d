"""The words of the payments pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "pay_nav": ("Pagamenti", "Payments"),
    "pay_title": ("Pagamenti ricevuti", "Payments received"),
    "pay_import": ("Importa un estratto conto bancario", "Import a bank statement"),
    "pay_import_hint": (
        "CAMT.053 (XML) oppure CSV data;importo;controparte;causale",
        "CAMT.053 (XML) or CSV date;amount;counterparty;remittance",
    ),
    "pay_file": ("File", "File"),
    "pay_upload": ("Importa", "Import"),
    "pay_unmatched": ("Da assegnare", "To assign"),
    "pay_matched": ("Assegnati di recente", "Recently matched"),
    "pay_none_unmatched": ("Nessun pagamento da assegnare", "No payment waiting"),
    "pay_none_matched": ("Nessun pagamento assegnato", "No payment matched yet"),
    "pay_booked": ("Data", "Booked"),
    "pay_amount": ("Importo", "Amount"),
    "pay_payer": ("Ordinante", "Payer"),
    "pay_remittance": ("Causale", "Remittance"),
    "pay_statement": ("Documento", "Statement"),
    "pay_how": ("Come", "How"),
    "pay_assign": ("Assegna", "Assign"),
    "pay_number": ("Numero (es. 2026/0007)", "Number (e.g. 2026/0007)"),
    "pay_not_ours": ("Non è nostro", "Not ours"),
    "pay_how.reference": ("riferimento", "reference"),
    "pay_how.amount": ("importo e nome", "amount and name"),
    "pay_how.coordinator": ("a mano", "by hand"),
    "pay_how.not_ours": ("non nostro", "not ours"),
    "pay_done.imported": ("Estratto conto importato.", "Bank statement imported."),
    "pay_done.assigned": ("Pagamento assegnato.", "Payment assigned."),
    "pay_paid": ("Pagato", "Paid"),
    "pay_due": ("Scadenza", "Due"),
    "pay_state.open": ("da pagare", "open"),
    "pay_state.paid": ("pagato", "paid"),
    "pay_state.part-paid": ("pagato in parte", "part-paid"),
    "pay_state.overdue": ("scaduto", "overdue"),
}
