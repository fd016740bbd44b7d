"""The words of the first-run pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "setup_title": ("Primo avvio", "First run"),
    "setup_intro": (
        "Nessuno può ancora accedere: crea l'amministratore. Questa pagina si apre solo dal "
        "server stesso, e una volta sola.",
        "Nobody can log in yet: make the administrator. This page opens only on the server "
        "itself, and only once.",
    ),
    "setup_password_again": ("Ripeti la password", "Password again"),
    "setup_create": ("Crea l'amministratore", "Make the administrator"),
    "setup_offer": (
        "Primo avvio: crea l'amministratore",
        "First run: make the administrator",
    ),
}
