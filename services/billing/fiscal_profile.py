"""Whether the workshop's fiscal profile lets it issue fatture, and what is missing if not."""

from __future__ import annotations

from dataclasses import dataclass

from services.billing.settings import Workshop
from services.fiscal import BillingMode


@dataclass(frozen=True, slots=True)
class FiscalReadiness:
    """The workshop's billing mode (None: no fiscal profile) and what fattura mode still lacks."""

    mode: BillingMode | None
    missing: tuple[str, ...]

    @property
    def complete_for_fattura(self) -> bool:
        """Whether statements can be issued as FatturaPA documents."""
        return not self.missing


def fiscal_readiness(workshop: Workshop) -> FiscalReadiness:
    """What the fiscal profile says, and what fattura mode would still need.

    The profile is checked field by field when the settings are read (a fattura workshop
    without its P.IVA is refused there), so here only the choices that are left are named.
    """
    profile = workshop.fiscal
    if profile is None:
        return FiscalReadiness(None, ("fiscal: no [billing.workshop.fiscal] table",))
    missing = []
    if profile.billing_mode is not BillingMode.FATTURA:
        missing.append("fiscal.billing_mode: rendiconto, not fattura")
    if profile.vat_number is None:
        missing.append("fiscal.vat_number: a workshop that issues fatture needs its P.IVA")
    return FiscalReadiness(profile.billing_mode, tuple(missing))
