"""Who issues a fiscal document and who it is for: the workshop's and a billing party's profile.

Frozen pydantic models, checked once when made. An error names the field: a single field's
check by its own location, a rule across fields by a `FiscalInputError` that carries the field
(`errors.error_fields` reads both). The official FatturaPA element each field fills is in
README.md.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from services.fiscal import identifiers
from services.fiscal.errors import FiscalInputError

CodiceFiscale = Annotated[str, AfterValidator(identifiers.codice_fiscale)]
PartitaIva = Annotated[str, AfterValidator(identifiers.partita_iva)]
Iban = Annotated[str, AfterValidator(identifiers.iban)]
Cap = Annotated[str, AfterValidator(identifiers.cap)]
Provincia = Annotated[str, AfterValidator(identifiers.provincia)]
Country = Annotated[str, AfterValidator(identifiers.country)]
RecipientCode = Annotated[str, AfterValidator(identifiers.recipient_code)]
Pec = Annotated[str, AfterValidator(identifiers.pec)]
LatinText = Annotated[str, AfterValidator(identifiers.latin_text)]


class BillingMode(StrEnum):
    """How a workshop bills: VAT invoices, or an association's statements outside VAT."""

    FATTURA = "fattura"
    RENDICONTO = "rendiconto"


class RegimeFiscale(StrEnum):
    """The seller's tax regime (`RegimeFiscale`); RF03 left the schema in version 1.2."""

    RF01 = "RF01"  # ordinario
    RF02 = "RF02"  # contribuenti minimi
    RF04 = "RF04"  # agricoltura e pesca
    RF05 = "RF05"  # vendita sali e tabacchi
    RF06 = "RF06"  # commercio fiammiferi
    RF07 = "RF07"  # editoria
    RF08 = "RF08"  # gestione servizi telefonia pubblica
    RF09 = "RF09"  # rivendita documenti di trasporto pubblico e di sosta
    RF10 = "RF10"  # intrattenimenti, giochi (DPR 640/72)
    RF11 = "RF11"  # agenzie viaggi e turismo
    RF12 = "RF12"  # agriturismo
    RF13 = "RF13"  # vendite a domicilio
    RF14 = "RF14"  # rivendita beni usati, oggetti d'arte, antiquariato
    RF15 = "RF15"  # agenzie di vendite all'asta di oggetti d'arte
    RF16 = "RF16"  # IVA per cassa P.A.
    RF17 = "RF17"  # IVA per cassa (art. 32-bis DL 83/2012)
    RF18 = "RF18"  # altro
    RF19 = "RF19"  # forfettario (L. 190/2014)
    RF20 = "RF20"  # transfrontaliero franchigia IVA (Dir. UE 2020/285)


class SoleShareholder(StrEnum):
    """`SocioUnico`: one shareholder (SU) or several (SM)."""

    SOLE = "SU"
    SEVERAL = "SM"


class Liquidation(StrEnum):
    """`StatoLiquidazione`: in liquidation (LS) or not (LN)."""

    IN_LIQUIDATION = "LS"
    NOT_IN_LIQUIDATION = "LN"


class PartyKind(StrEnum):
    """A person (name and surname) or an organisation (a denomination)."""

    PERSON = "person"
    ORGANISATION = "organisation"


class FrozenModel(BaseModel):
    """A fiscal value: checked once when made, never changed, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Address(FrozenModel):
    """A registered address (`Sede`): street, civic number, CAP, comune, provincia, nation."""

    street: LatinText = Field(min_length=1, max_length=60)
    civic_number: str | None = Field(default=None, min_length=1, max_length=8)
    cap: Cap
    comune: LatinText = Field(min_length=1, max_length=60)
    provincia: Provincia | None = None
    nazione: Country = "IT"

    @model_validator(mode="after")
    def _italian(self) -> Address:
        # Parties abroad (recipient code XXXXXXX, foreign VAT ids) are not handled yet.
        if self.nazione != "IT":
            raise FiscalInputError("nazione", "only Italian addresses (IT) are supported")
        if self.provincia is None:
            raise FiscalInputError("provincia", "an Italian address needs its provincia")
        return self


class Rea(FrozenModel):
    """The company register entry (`IscrizioneREA`) of a company that has one."""

    office: Provincia
    number: str = Field(min_length=1, max_length=20)
    share_capital_cents: int | None = Field(default=None, ge=0, lt=10**13, strict=True)
    sole_shareholder: SoleShareholder | None = None
    liquidation: Liquidation = Liquidation.NOT_IN_LIQUIDATION

    @property
    def share_capital(self) -> Decimal | None:
        """The share capital in euros, as `CapitaleSociale` writes it."""
        if self.share_capital_cents is None:
            return None
        return Decimal(self.share_capital_cents).scaleb(-2)


class Workshop(FrozenModel):
    """The workshop as the seller (`CedentePrestatore`) and how it bills."""

    legal_name: LatinText = Field(min_length=1, max_length=80)
    vat_number: PartitaIva | None = None
    fiscal_code: CodiceFiscale | None = None
    regime: RegimeFiscale = RegimeFiscale.RF01
    address: Address
    rea: Rea | None = None
    iban: Iban
    payment_terms_days: int = Field(default=30, ge=0, le=365)
    billing_mode: BillingMode
    stamp_duty_charged_to_party: bool = False

    @model_validator(mode="after")
    def _identified(self) -> Workshop:
        if self.vat_number is None and self.fiscal_code is None:
            raise FiscalInputError("vat_number", "give the partita IVA, the codice fiscale or both")
        if self.billing_mode is BillingMode.FATTURA and self.vat_number is None:
            raise FiscalInputError("vat_number", "a workshop that issues fatture needs its P.IVA")
        return self

    @property
    def transmitter_code(self) -> str:
        """The `IdCodice` of the transmitter: the codice fiscale, else the partita IVA."""
        code = self.fiscal_code or self.vat_number
        assert code is not None  # _identified guarantees one of them
        return code


class BillingParty(FrozenModel):
    """Whom a document is for (`CessionarioCommittente`): a person or an organisation."""

    kind: PartyKind
    name: LatinText | None = Field(default=None, min_length=1, max_length=80)
    first_name: LatinText | None = Field(default=None, min_length=1, max_length=60)
    last_name: LatinText | None = Field(default=None, min_length=1, max_length=60)
    fiscal_code: CodiceFiscale | None = None
    vat_number: PartitaIva | None = None
    address: Address
    recipient_code: RecipientCode | None = None
    pec: Pec | None = None

    @model_validator(mode="after")
    def _complete(self) -> BillingParty:
        if self.kind is PartyKind.PERSON:
            for field in ("first_name", "last_name"):
                if getattr(self, field) is None:
                    raise FiscalInputError(field, "a person needs a first and a last name")
        elif self.name is None:
            raise FiscalInputError("name", "an organisation needs its name")
        if self.fiscal_code is None and self.vat_number is None:
            raise FiscalInputError("fiscal_code", "give the codice fiscale, the P.IVA or both")
        if self.vat_number is not None and self.recipient_code is None and self.pec is None:
            raise FiscalInputError(
                "recipient_code", "a business party needs an SdI recipient code or a PEC"
            )
        return self

    @property
    def display_name(self) -> str:
        """The name printed on a document: the denomination, or name and surname."""
        if self.kind is PartyKind.ORGANISATION:
            assert self.name is not None  # _complete guarantees it
            return self.name
        return f"{self.first_name} {self.last_name}"

    @property
    def sdi_code(self) -> str:
        """`CodiceDestinatario`: the party's code, or 0000000 for PEC or the tax drawer."""
        return self.recipient_code or identifiers.NO_RECIPIENT_CODE
