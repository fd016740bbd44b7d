"""The words of the webhooks page, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "wh_nav": ("Webhook", "Webhooks"),
    "wh_title": (
        "Webhook: eventi inviati ad altri sistemi",
        "Webhooks: events sent to other systems",
    ),
    "wh_url": ("Indirizzo di destinazione", "Target URL"),
    "wh_events": ("Eventi", "Events"),
    "wh_reserved": ("Riservati, non ancora inviati", "Reserved, not sent yet"),
    "wh_subscribe": ("Iscrivi", "Subscribe"),
    "wh_secret_once": (
        "Chiave di firma: copiala ora, non verrà più mostrata",
        "Signing secret: copy it now, it is not shown again",
    ),
    "wh_none": ("Nessuna iscrizione", "No subscriptions"),
    "wh_remove": ("Elimina", "Remove"),
    "wh_deliveries": ("Consegne", "Deliveries"),
    "wh_delivery": ("Consegna", "Delivery"),
    "wh_status": ("Stato", "Status"),
    "wh_status.pending": ("In attesa", "Pending"),
    "wh_status.delivered": ("Consegnata", "Delivered"),
    "wh_status.failed": ("Fallita", "Failed"),
    "wh_attempts": ("Tentativi", "Attempts"),
    "wh_next": ("Prossimo tentativo", "Next attempt"),
    "wh_last_error": ("Ultimo errore", "Last error"),
    "wh_replay": ("Reinvia", "Replay"),
    "wh_show": ("Mostra consegne", "Show deliveries"),
}
