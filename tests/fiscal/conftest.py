"""The fiscal tests validate their XML against the official schema."""

from tests.fatturapa_schema import fatturapa_schema

__all__ = ["fatturapa_schema"]
