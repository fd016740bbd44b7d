"""Structured logs: one event per line, as `key=value` pairs or as a JSON object.

Every line carries `ts` (UTC, ISO 8601), `level`, `logger` and `msg`; values passed with
`extra={...}` become further keys, so a log shipper can index them without parsing prose.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from enum import StrEnum

# What every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


class LogFormat(StrEnum):
    """How log lines look."""

    KEYVALUE = "keyvalue"
    JSON = "json"


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, object]:
    fields: dict[str, object] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_"):
            fields[key] = value
    if record.exc_info:
        fields["exc"] = formatter.formatException(record.exc_info)
    return fields


def _quoted(value: object) -> str:
    text = str(value)
    if text and not any(c in text for c in ' "=\n\\'):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class KeyValueFormatter(logging.Formatter):
    """`ts=… level=info logger=… msg="…" key=value`, quoted where needed (logfmt)."""

    def format(self, record: logging.LogRecord) -> str:
        """One logfmt line."""
        return " ".join(f"{key}={_quoted(value)}" for key, value in _fields(record, self).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """One JSON line; values JSON cannot hold are written as text."""
        return json.dumps(_fields(record, self), default=str, ensure_ascii=False)


def configure_logging(log_format: LogFormat, *, level: int = logging.INFO) -> None:
    """Send the root logger's records to stderr in the chosen format, replacing other handlers."""
    root = logging.getLogger()
    for old in list(root.handlers):
        if type(old) is logging.StreamHandler:  # basicConfig's; test harness handlers stay
            root.removeHandler(old)
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if log_format is LogFormat.JSON else KeyValueFormatter()
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)
