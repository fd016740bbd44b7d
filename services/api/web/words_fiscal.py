"""The words of the fiscal pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "fis_parties": ("Intestatari", "Billing parties"),
    "fis_parties_of": ("Intestatari dei documenti di", "Billing parties of"),
    "fis_my_parties": (
        "A chi sono intestati i miei documenti",
        "Whom my documents are made out to",
    ),
    "fis_no_parties": (
        "Nessun intestatario: i documenti sono intestati al socio",
        "No billing party yet: documents are made out to the member",
    ),
    "fis_label": ("Etichetta", "Label"),
    "fis_kind": ("Tipo", "Kind"),
    "fis_kind.person": ("Persona fisica", "Person"),
    "fis_kind.organisation": ("Società, ente o associazione", "Organisation"),
    "fis_name": ("Denominazione", "Name of the organisation"),
    "fis_first_name": ("Nome", "First name"),
    "fis_last_name": ("Cognome", "Last name"),
    "fis_fiscal_code": ("Codice fiscale", "Codice fiscale (tax code)"),
    "fis_vat_number": ("Partita IVA", "Partita IVA (VAT number)"),
    "fis_street": ("Indirizzo", "Street"),
    "fis_civic_number": ("Numero civico", "Number"),
    "fis_cap": ("CAP", "Postcode (CAP)"),
    "fis_comune": ("Comune", "Town (comune)"),
    "fis_provincia": ("Provincia (sigla)", "Province (sigla)"),
    "fis_nazione": ("Nazione", "Country"),
    "fis_recipient_code": ("Codice destinatario SdI", "SdI recipient code"),
    "fis_pec": ("PEC", "PEC (certified e-mail)"),
    "fis_default": ("Predefinito", "Default"),
    "fis_make_default": ("Rendi predefinito", "Make it the default"),
    "fis_add_party": ("Aggiungi un intestatario", "Add a billing party"),
    "fis_save": ("Salva", "Save"),
    "fis_edit": ("Modifica", "Edit"),
    "fis_delete": ("Elimina", "Delete"),
    "fis_added_on": ("Aggiunto il", "Added on"),
    "fis_cards": ("Tessere le cui sessioni vanno qui", "Cards whose sessions go here"),
    "fis_assign_card": ("Manda qui le sessioni della tessera", "Send the card's sessions here"),
    "fis_unassign": ("Torna al predefinito", "Back to the default"),
    "fis_no_card": ("nessuna", "none"),
    "fis_nav": ("Dati fiscali", "Fiscal profile"),
    "fis_workshop": ("Dati fiscali dell'officina", "The workshop's fiscal profile"),
    "fis_no_profile": (
        "Le impostazioni non hanno un profilo fiscale ([billing.workshop.fiscal]):"
        " gli estratti conto non sono documenti fiscali.",
        "The settings hold no fiscal profile ([billing.workshop.fiscal]):"
        " statements are not fiscal documents.",
    ),
    "fis_settings_note": (
        "Si modifica nel file delle impostazioni di fatturazione; qui si legge soltanto.",
        "It is changed in the billing settings file; this page only shows it.",
    ),
    "fis_mode": ("Modalità", "Billing mode"),
    "fis_mode.fattura": ("Fattura elettronica (soggetto IVA)", "Electronic invoices (VAT subject)"),
    "fis_mode.rendiconto": (
        "Rendiconto ai soci (fuori campo IVA)",
        "Statements to members (outside the VAT field)",
    ),
    "fis_complete": (
        "Completo per la fatturazione elettronica.",
        "Complete for electronic invoices.",
    ),
    "fis_missing": (
        "Manca per la fatturazione elettronica:",
        "Missing for electronic invoices:",
    ),
    "fis_legal_name": ("Ragione sociale", "Legal name"),
    "fis_regime": ("Regime fiscale", "Tax regime"),
    "fis_rea": ("Iscrizione REA", "Company register (REA)"),
    "fis_iban": ("IBAN", "IBAN"),
    "fis_payment_terms": ("Pagamento entro (giorni)", "Payment due within (days)"),
    "fis_stamp_duty": ("Bollo a carico del cliente", "Stamp duty charged to the party"),
    "fis_yes": ("sì", "yes"),
    "fis_no": ("no", "no"),
}
