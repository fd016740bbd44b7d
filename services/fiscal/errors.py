"""Errors the fiscal package raises; errors of the identifier and XML libraries become these."""

from __future__ import annotations

from pydantic import ValidationError


class FiscalError(Exception):
    """A fiscal document or profile could not be made."""


class FiscalInputError(FiscalError, ValueError):
    """Input no fiscal document can carry; names the field that is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def error_fields(error: ValidationError) -> list[str]:
    """The dotted path of every field a pydantic validation error names, cross-field ones too."""
    fields = []
    for detail in error.errors():
        path = ".".join(str(part) for part in detail["loc"])
        inner = detail.get("ctx", {}).get("error")
        if isinstance(inner, FiscalInputError):
            path = f"{path}.{inner.field}" if path else inner.field
        fields.append(path)
    return fields
