"""What a fattura workshop checks and makes when it issues: the party, then the FatturaPA file.

Issuing a statement or a credit note in fattura mode also makes its XML, in the transaction that
numbers it (the store calls `DocumentMaker.make` there). Everything that could refuse is asked
first, before a number is taken: the workshop's profile (`document_maker`) and every member's
party (`party_for_documents`), so a refusal names the field and leaves no number and no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from services.billing.errors import BillingInputError
from services.billing.fiscal import fiscal_document
from services.billing.fiscal_lines import DEFAULT_RULES, MeterOf, NaturaOf, fiscal_lines
from services.billing.fiscal_profile import fiscal_readiness
from services.billing.records import StoredStatement
from services.billing.settings import Workshop as WorkshopSettings
from services.fiscal import (
    BillingMode,
    BillingParty,
    FiscalInputError,
    Locale,
    Workshop,
    fattura_xml,
    file_name,
    progressivo,
)


@dataclass(frozen=True, slots=True)
class MadeDocument:
    """A statement's FatturaPA file as it is stored: type, progressivo, name and bytes."""

    type: str
    progressivo: str
    file_name: str
    xml: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentMaker:
    """A fattura workshop's profile and rules, ready to make each issued statement's file."""

    workshop: Workshop
    meter_of: MeterOf
    natura_of: NaturaOf = DEFAULT_RULES
    locale: Locale = Locale.IT
    tz: ZoneInfo

    def invoices(self, statement: StoredStatement) -> bool:
        """Whether a statement has a line to invoice (one of allowances alone has none)."""
        return bool(fiscal_lines(statement, natura_of=self.natura_of))

    def make(
        self,
        statement: StoredStatement,
        *,
        party: BillingParty,
        sequence: int,
        original: StoredStatement | None = None,
    ) -> MadeDocument:
        """The FatturaPA file of an issued statement (TD01) or credit note (TD04)."""
        try:
            document = fiscal_document(
                statement,
                workshop=self.workshop,
                party=party,
                progressivo=progressivo(sequence),
                original=original,
                natura_of=self.natura_of,
                meter_of=self.meter_of,
                locale=self.locale,
                tz=self.tz,
            )
            xml = fattura_xml(document)
        except FiscalInputError as err:
            raise BillingInputError(err.field, err.reason) from err
        return MadeDocument(document.type.value, document.progressivo, file_name(document), xml)


def bills_fatture(workshop: WorkshopSettings) -> bool:
    """Whether the workshop's statements are fatture (its fiscal profile says fattura)."""
    return workshop.fiscal is not None and workshop.fiscal.billing_mode is BillingMode.FATTURA


def document_maker(
    workshop: WorkshopSettings, *, meter_of: MeterOf, locale: str, tz: ZoneInfo
) -> DocumentMaker | None:
    """The maker of a fattura workshop's files; None in rendiconto mode (nothing is stored).

    A fattura profile that is not complete is refused here, naming its first missing field.
    """
    if not bills_fatture(workshop):
        return None
    readiness = fiscal_readiness(workshop)
    if readiness.missing:
        field, _, reason = readiness.missing[0].partition(": ")
        raise BillingInputError(f"workshop.{field}", reason or "missing")
    assert workshop.fiscal is not None  # bills_fatture
    return DocumentMaker(
        workshop=workshop.fiscal,
        meter_of=meter_of,
        locale=Locale(locale) if locale in set(Locale) else Locale.IT,
        tz=tz,
    )


def party_for_documents(member: str, party: BillingParty | None) -> BillingParty:
    """The party a member's fatture go to, if the SdI can deliver to it."""
    if party is None:
        raise BillingInputError("party", f"member {member} has no billing party: add one first")
    if party.recipient_code is None and party.pec is None:
        raise BillingInputError(
            "recipient_code",
            f"the billing party of member {member} has neither an SdI recipient code nor a PEC",
        )
    return party
