"""Access lists out: each machine's retained `acl`, republished whenever who-may-use-it changes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from contract import (
    AccessList,
    AclEntry,
    Command,
    CommandAction,
    MachineTopic,
    Message,
    SessionRecord,
    TopicKind,
    encode_payload,
)
from services.api.broker import BrokerLink
from services.api.models import AclVersionRow
from services.api.retained import RetainedPublisher, epoch_ms, utc_now
from services.ledger import LedgerError

log = logging.getLogger(__name__)
UTC_ZONE = ZoneInfo("UTC")


class AccessGrant(Protocol):
    """One card allowed on a machine (the registry's AccessEntry)."""

    @property
    def card_hash(self) -> str:
        """The card's keyed hash."""

    @property
    def member(self) -> str:
        """Whose card it is."""

    @property
    def until(self) -> datetime | None:
        """When the member's qualification ends, if it does."""

    @property
    def staff(self) -> bool:
        """Whether the member looks after the machine."""


class RegisteredMachine(Protocol):
    """A machine of the registry, as far as access lists care."""

    @property
    def id(self) -> str:
        """The machine's id."""


class GateCredit(Protocol):
    """What a credit-required member's credit buys at a machine."""

    @property
    def running_s(self) -> float | None:
        """Running seconds it buys here; None where running time is free."""

    @property
    def counted_until(self) -> datetime | None:
        """When the last session counted in it ended."""


class CreditSource(Protocol):
    """Where members' credit comes from: billing's ledger."""

    def gate_credit(
        self, site: str, machine: str, members: Collection[str], *, now: datetime, tz: ZoneInfo
    ) -> Mapping[str, GateCredit]:
        """For the members whose plan requires credit: what it buys at the machine."""


class AccessSource(Protocol):
    """Where access lists come from: the registry."""

    def access_list(self, site: str, machine: str, *, at: datetime) -> Sequence[AccessGrant]:
        """The cards that may unlock a machine at a moment."""

    def machines(
        self, *, site: str | None = None, gateway: str | None = None
    ) -> Sequence[RegisteredMachine]:
        """The registered machines of a site."""


class AclPublisher(RetainedPublisher):
    """Publishes each machine's access list; requests only tell it which machines changed."""

    what = "access list"

    def __init__(
        self,
        *,
        site: str,
        link: BrokerLink,
        source: AccessSource,
        engine: Engine,
        clock: Callable[[], datetime] = utc_now,
        credit: CreditSource | None = None,
        tz: ZoneInfo = UTC_ZONE,
    ) -> None:
        self._source = source
        self._credit = credit
        self._tz = tz
        # Members whose entries carried credit: a session of theirs changes what it buys.
        self._credit_members: frozenset[str] = frozenset()
        super().__init__(
            site=site,
            link=link,
            engine=engine,
            follow=MachineTopic.filter(site, "+", TopicKind.ACL),
            thread_name="acl-publisher",
            clock=clock,
        )

    def machines_changed(self, machines: Iterable[str]) -> None:
        """Republish these machines' access lists (soon, on the worker thread)."""
        self.changed(machines)

    def command(self, machine: str, action: CommandAction, *, by: str) -> None:
        """Send a lock or unlock to a machine's gateway; raise BrokerError if not acknowledged."""
        now = epoch_ms(self._clock())
        payload = Command(id=f"cmd-{machine}-{now}", ts=now, action=action, by=by[:64])
        topic = MachineTopic(self.site, machine, TopicKind.COMMANDS)
        self._link.publish(str(topic), encode_payload(payload), retain=False)

    def retained_version(self, message: Message) -> tuple[str, int] | None:
        """A machine's access list heard retained on the broker: the machine and its version."""
        payload, topic = message.payload, message.topic
        if isinstance(payload, AccessList) and isinstance(topic, MachineTopic):
            return topic.machine, payload.version
        return None

    def every_key(self) -> set[str]:
        """Every registered machine of the site."""
        return {m.id for m in self._source.machines(site=self.site)}

    def publish(self, machine: str) -> None:
        """Publish a machine's access list as the registry has it now."""
        now = self._clock()
        grants = self._source.access_list(self.site, machine, at=now)
        credit: Mapping[str, GateCredit] = {}
        if self._credit is not None and grants:
            members = {g.member for g in grants}
            credit = self._credit.gate_credit(self.site, machine, members, now=now, tz=self._tz)
            self._credit_members = self._credit_members | frozenset(credit)
        entries = tuple(
            AclEntry(
                card=g.card_hash,
                member=g.member,
                until=None if g.until is None else epoch_ms(g.until),
                staff=g.staff,
                **_credit_fields(credit.get(g.member)),
            )
            for g in grants
        )
        version = self._next_version(machine, len(entries), now)
        payload = AccessList(
            id=f"acl-{machine}-{version}", ts=epoch_ms(now), version=version, entries=entries
        )
        topic = MachineTopic(self.site, machine, TopicKind.ACL)
        self._link.publish(str(topic), encode_payload(payload), retain=True)
        log.info("access list of %s v%d: %d cards", machine, version, len(entries))

    def session_closed(self, message: Message) -> None:
        """A session heard on the broker: a credit-required member's lists are made again."""
        payload = message.payload
        if isinstance(payload, SessionRecord) and payload.member in self._credit_members:
            self.members_changed()

    def members_changed(self) -> None:
        """A member's credit changed: republish every machine's list (soon, on the worker)."""
        self.changed(self.every_key())

    def _next_version(self, machine: str, entries: int, now: datetime) -> int:
        seen = self.seen_version(machine)
        try:
            with self._open_db.begin() as db:
                row = db.get(AclVersionRow, (self.site, machine), with_for_update=True)
                if row is None:
                    row = AclVersionRow(site=self.site, machine=machine, version=-1)
                    db.add(row)
                row.version = max(row.version, seen) + 1
                row.entries = entries
                row.published_at = now
                return row.version
        except SQLAlchemyError as err:
            raise LedgerError(f"next access-list version of {machine}: {err}") from err


def _credit_fields(credit: GateCredit | None) -> dict[str, float | int | None]:
    """An entry's credit fields: none for a member without a credit rule or on a free machine."""
    if credit is None or credit.running_s is None:
        return {}
    until = credit.counted_until
    return {
        "credit_s": credit.running_s,
        "credit_until": None if until is None else epoch_ms(until),
    }
