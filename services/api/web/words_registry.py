"""The words of the registry pages, Italian then English: adding a phrase is adding a row."""

from __future__ import annotations

from collections.abc import Mapping

WORDS: Mapping[str, tuple[str, str]] = {
    "reg.gateway": ("Gateway", "Gateway"),
    "reg.gateways": ("Gateway", "Gateways"),
    "reg.tariffs": ("Tariffe", "Tariffs"),
    "reg.add_machine": ("Nuova macchina", "New machine"),
    "reg.idle_amps": ("Accesa da (A)", "Idle from (A)"),
    "reg.run_amps": ("In lavorazione da (A)", "Running from (A)"),
    "reg.hysteresis_amps": ("Isteresi (A)", "Hysteresis (A)"),
    "reg.min_dwell_s": ("Permanenza minima (s)", "Minimum dwell (s)"),
    "reg.rated_w": ("Potenza di targa (W)", "Rated power (W)"),
    "reg.thresholds": ("Soglie", "Thresholds"),
    "reg.edit": ("Modifica", "Edit"),
    "reg.retire": ("Dismetti", "Retire"),
    "reg.retired": ("Dismessa il", "Retired on"),
    "reg.gateway_how": (
        "Un gateway compare qui quando una macchina lo nomina: assegnalo in",
        "A gateway appears here once a machine names it: assign it in",
    ),
    "reg.online": ("In linea", "Online"),
    "reg.last_heard": ("Ultimo contatto", "Last heard"),
    "reg.never": ("mai dall'avvio", "not since start"),
    "reg.login": ("Accesso al broker", "Broker login"),
    "reg.no_login": ("non ancora emesso", "not issued yet"),
    "reg.issue_config": ("Emetti credenziali e gateway.toml", "Issue login and gateway.toml"),
    "reg.issue_warning": (
        "Le credenziali precedenti smettono di funzionare.",
        "Any earlier login stops working.",
    ),
    "reg.driver": ("Scheda", "Board"),
    "reg.driver.mcu": ("Scheda MCU officina", "officina MCU board"),
    "reg.driver.pzem004t": ("Contatore PZEM-004T", "PZEM-004T meter"),
    "reg.port": ("Porta seriale", "Serial port"),
    "reg.channel": ("Canale", "Channel"),
    "reg.relay_channel": ("Canale relè", "Relay channel"),
    "reg.spool_path": ("File di coda", "Spool file"),
    "reg.shown_once": (
        "La password è mostrata solo ora: salva il file.",
        "The password is shown only now: save the file.",
    ),
    "reg.download_toml": ("Scarica gateway.toml", "Download gateway.toml"),
    "reg.tariffs_how": (
        "Prezzi al netto dell'IVA; valgono dal giorno indicato, i giorni prima restano com'erano.",
        "Prices net of VAT, from the day given on; earlier days keep the prices they had.",
    ),
    "reg.valid_from": ("Valida dal", "Valid from"),
    "reg.plan": ("Piano", "Plan"),
    "reg.every_machine": ("tutte le macchine", "every machine"),
    "reg.every_plan": ("tutti i piani", "every plan"),
    "reg.per_running_minute": ("Al minuto in lavorazione", "Per running minute"),
    "reg.per_unlocked_minute": ("Al minuto sbloccata", "Per unlocked minute"),
    "reg.per_kwh": ("Al kWh", "Per kWh"),
    "reg.minimum": ("Minimo per sessione", "Minimum per session"),
}
