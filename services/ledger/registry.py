"""The registry: members, their cards, the machines of each site, and who is qualified on what."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from contract import ID_PATTERN, Policy, is_id
from services.ledger.errors import RegistryError
from services.ledger.models import (
    CardRow,
    MachinePhotoRow,
    MachineRow,
    MemberRow,
    QualificationRow,
)
from services.ledger.store import LedgerStore

_CARD_HASH = re.compile(r"[0-9a-f]{64}")
# What a machine registered without a policy of its own runs by: the contract's defaults.
DEFAULT_POLICY = Policy()


def _check_id(value: str, field: str) -> str:
    if not is_id(value):
        raise RegistryError(field, f"{value!r} must match {ID_PATTERN}")
    return value


def _check_aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise RegistryError(field, "must be a timezone-aware datetime")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class MachineSpec:
    """A machine as the registry holds it; its policy is checked as the gateway checks it."""

    site: str
    id: str
    name: str
    gateway: str
    idle_amps: float = DEFAULT_POLICY.idle_amps
    run_amps: float = DEFAULT_POLICY.run_amps
    hysteresis_amps: float = DEFAULT_POLICY.hysteresis_amps
    min_dwell_s: float = DEFAULT_POLICY.min_dwell_s
    idle_timeout_s: float = DEFAULT_POLICY.idle_timeout_s
    max_duration_s: float = DEFAULT_POLICY.max_duration_s
    warn_before_s: float = DEFAULT_POLICY.warn_before_s
    rated_w: float | None = None

    def __post_init__(self) -> None:
        _check_id(self.site, "site")
        _check_id(self.id, "id")
        _check_id(self.gateway, "gateway")
        if not self.name.strip():
            raise RegistryError("name", "must not be empty")
        if not self.idle_amps > 0:
            raise RegistryError("idle_amps", "must be greater than 0")
        if not self.run_amps > self.idle_amps:
            raise RegistryError("run_amps", "must be greater than idle_amps")
        if not 0 <= self.hysteresis_amps < self.idle_amps:
            raise RegistryError("hysteresis_amps", "must be at least 0 and below idle_amps")
        if not self.min_dwell_s >= 0:
            raise RegistryError("min_dwell_s", "must not be negative")
        for name in ("idle_timeout_s", "max_duration_s"):
            if not 0 < getattr(self, name) < math.inf:
                raise RegistryError(name, "must be a finite number of seconds above 0")
        if not 0 <= self.warn_before_s < math.inf:
            raise RegistryError("warn_before_s", "must be a finite number of seconds, at least 0")
        if self.rated_w is not None and not 0 < self.rated_w < math.inf:
            raise RegistryError("rated_w", "must be a finite number of watts above 0")


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One card that may unlock a machine, whose member it is, until when, and whether she
    looks after the machine."""

    card_hash: str
    member: str
    until: datetime | None
    staff: bool = False


class Registry(LedgerStore):
    """Reads and writes the registry tables of the ledger."""

    def add_member(self, *, member_id: str, name: str, email: str | None = None) -> MemberRow:
        """Register a member under the id the gateways will send; refuses a taken id."""
        _check_id(member_id, "member_id")
        if not name.strip():
            raise RegistryError("name", "must not be empty")
        with self._transaction(f"add member {member_id}") as db:
            if db.get(MemberRow, member_id) is not None:
                raise RegistryError("member_id", f"{member_id!r} is already registered")
            row = MemberRow(id=member_id, name=name, email=email, joined_at=self._clock())
            db.add(row)
            return row

    def member(self, member_id: str) -> MemberRow | None:
        """One member, if registered."""
        with self._transaction("read a member") as db:
            return db.get(MemberRow, member_id)

    def members(self) -> Sequence[MemberRow]:
        """Every member, by id."""
        with self._transaction("read members") as db:
            return db.scalars(select(MemberRow).order_by(MemberRow.id)).all()

    def add_card(
        self, *, site: str, card_hash: str, member: str, label: str | None = None
    ) -> CardRow:
        """Give a member a card, known only by the site's keyed hash of its UID."""
        _check_id(site, "site")
        if not _CARD_HASH.fullmatch(card_hash):
            raise RegistryError("card_hash", "must be 64 lowercase hex digits (a keyed hash)")
        with self._transaction(f"add a card of {member}") as db:
            if db.get(MemberRow, member) is None:
                raise RegistryError("member", f"{member!r} is not a registered member")
            if db.get(CardRow, (site, card_hash)) is not None:
                raise RegistryError("card_hash", "this card is already registered at the site")
            row = CardRow(
                site=site, card_hash=card_hash, member=member, label=label, issued_at=self._clock()
            )
            db.add(row)
            return row

    def revoke_card(self, *, site: str, card_hash: str) -> None:
        """Stop a card from opening anything (lost, stolen, returned)."""
        with self._transaction("revoke a card") as db:
            row = db.get(CardRow, (site, card_hash))
            if row is None:
                raise RegistryError("card_hash", "no such card at the site")
            if row.revoked_at is None:
                row.revoked_at = self._clock()

    def card_owner(self, site: str, card_hash: str) -> str | None:
        """The member a valid (not revoked) card belongs to."""
        with self._transaction("read a card") as db:
            row = db.get(CardRow, (site, card_hash))
            return row.member if row is not None and row.revoked_at is None else None

    def cards(self, member: str) -> Sequence[CardRow]:
        """A member's cards, revoked ones included."""
        query = select(CardRow).where(CardRow.member == member).order_by(CardRow.issued_at)
        with self._transaction("read cards") as db:
            return db.scalars(query).all()

    def save_machine(self, spec: MachineSpec) -> MachineRow:
        """Register a machine, or update its name, gateway and policy."""
        with self._transaction(f"save machine {spec.site}/{spec.id}") as db:
            row = db.get(MachineRow, (spec.site, spec.id))
            if row is None:
                row = MachineRow(site=spec.site, id=spec.id, added_at=self._clock())
                db.add(row)
            row.name = spec.name
            row.gateway = spec.gateway
            row.idle_amps = spec.idle_amps
            row.run_amps = spec.run_amps
            row.hysteresis_amps = spec.hysteresis_amps
            row.min_dwell_s = spec.min_dwell_s
            row.idle_timeout_s = spec.idle_timeout_s
            row.max_duration_s = spec.max_duration_s
            row.warn_before_s = spec.warn_before_s
            row.rated_w = spec.rated_w
            return row

    def retire_machine(self, site: str, machine: str) -> MachineRow:
        """Mark a machine retired (sold, scrapped); its sessions and bills stay as they were."""
        with self._transaction(f"retire machine {site}/{machine}") as db:
            row = db.get(MachineRow, (site, machine))
            if row is None:
                raise RegistryError("machine", f"{site}/{machine} is not a registered machine")
            if row.retired_at is None:
                row.retired_at = self._clock()
            return row

    def save_photo(self, site: str, machine: str, *, data: bytes, content_type: str) -> None:
        """Give a machine its photo, replacing any earlier one."""
        with self._transaction(f"save the photo of {site}/{machine}") as db:
            if db.get(MachineRow, (site, machine)) is None:
                raise RegistryError("machine", f"{site}/{machine} is not a registered machine")
            row = db.get(MachinePhotoRow, (site, machine))
            if row is None:
                row = MachinePhotoRow(site=site, machine=machine)
                db.add(row)
            row.data = data
            row.content_type = content_type
            row.updated_at = self._clock()

    def photo(self, site: str, machine: str) -> MachinePhotoRow | None:
        """A machine's photo, if it has one."""
        with self._transaction("read a photo") as db:
            return db.get(MachinePhotoRow, (site, machine))

    def drop_photo(self, site: str, machine: str) -> None:
        """Take a machine's photo away (nothing happens if it had none)."""
        with self._transaction(f"drop the photo of {site}/{machine}") as db:
            row = db.get(MachinePhotoRow, (site, machine))
            if row is not None:
                db.delete(row)

    def photographed(self, site: str) -> dict[str, datetime]:
        """The site's machines that have a photo, with when it was last changed."""
        query = select(MachinePhotoRow.machine, MachinePhotoRow.updated_at).where(
            MachinePhotoRow.site == site
        )
        with self._transaction("read which machines have photos") as db:
            return {machine: at for machine, at in db.execute(query)}

    def machine(self, site: str, machine: str) -> MachineRow | None:
        """One machine, if registered."""
        with self._transaction("read a machine") as db:
            return db.get(MachineRow, (site, machine))

    def machines(
        self, *, site: str | None = None, gateway: str | None = None
    ) -> Sequence[MachineRow]:
        """Registered machines (of one site, or one gateway), by site and id."""
        query = select(MachineRow).order_by(MachineRow.site, MachineRow.id)
        if site is not None:
            query = query.where(MachineRow.site == site)
        if gateway is not None:
            query = query.where(MachineRow.gateway == gateway)
        with self._transaction("read machines") as db:
            return db.scalars(query).all()

    def qualify(
        self,
        *,
        member: str,
        site: str,
        machine: str,
        valid_until: datetime | None = None,
        granted_by: str | None = None,
        staff: bool = False,
    ) -> QualificationRow:
        """Record that a member may use a machine (until a date, maybe as its staff); renewing
        replaces both."""
        _check_aware(valid_until, "valid_until")
        with self._transaction(f"qualify {member} on {site}/{machine}") as db:
            if db.get(MemberRow, member) is None:
                raise RegistryError("member", f"{member!r} is not a registered member")
            if db.get(MachineRow, (site, machine)) is None:
                raise RegistryError("machine", f"{site}/{machine} is not a registered machine")
            row = db.get(QualificationRow, (member, site, machine))
            if row is None:
                row = QualificationRow(member=member, site=site, machine=machine)
                db.add(row)
            row.granted_at = self._clock()
            row.valid_until = valid_until
            row.granted_by = granted_by
            row.staff = staff
            return row

    def is_qualified(self, member: str, site: str, machine: str, *, at: datetime) -> bool:
        """Whether a member holds a qualification on a machine valid at a moment."""
        _check_aware(at, "at")
        with self._transaction("read a qualification") as db:
            row = db.get(QualificationRow, (member, site, machine))
            return row is not None and (row.valid_until is None or row.valid_until > at)

    def access_list(self, site: str, machine: str, *, at: datetime) -> Sequence[AccessEntry]:
        """The cards that may unlock a machine at a moment: valid cards of qualified members."""
        _check_aware(at, "at")
        query = (
            select(
                CardRow.card_hash,
                CardRow.member,
                QualificationRow.valid_until,
                QualificationRow.staff,
            )
            .join(QualificationRow, QualificationRow.member == CardRow.member)
            .join(MemberRow, MemberRow.id == CardRow.member)
            .where(
                CardRow.site == site,
                CardRow.revoked_at.is_(None),
                MemberRow.erased_at.is_(None),
                QualificationRow.site == site,
                QualificationRow.machine == machine,
                or_(QualificationRow.valid_until.is_(None), QualificationRow.valid_until > at),
            )
            .order_by(CardRow.member, CardRow.card_hash)
        )
        with self._transaction("read an access list") as db:
            row = db.get(MachineRow, (site, machine))
            if row is not None and row.retired_at is not None:
                return []  # a retired machine opens for nobody
            return [
                AccessEntry(card, member, until, staff)
                for card, member, until, staff in db.execute(query)
            ]
