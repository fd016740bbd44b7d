"""Billing's side of the ledger: its rows in and out, drafts saved, months issued, credit notes.

Each public method is one transaction. Making a month's drafts and issuing a month are single
transactions, so a crash halfway leaves the month as it was before; numbers are taken from the
per-year counter inside the transaction that issues, so they have no gaps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Engine,
    Table,
    delete,
    extract,
    func,
    insert,
    literal_column,
    select,
    type_coerce,
    update,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from services.billing.allocation import AllocationKey, CostPool
from services.billing.engine import MemberAccount, MonthInputs, MonthStatements
from services.billing.errors import BillingError, BillingInputError, StatementStateError
from services.billing.gc_pause import collector_paused
from services.billing.models import (
    BillingProfileRow,
    BillingRunRow,
    CostPoolMachineRow,
    CostPoolRow,
    MemberPlanRow,
    PlanAllowanceRow,
    PlanRow,
    StatementLineRow,
    StatementNumberRow,
    StatementRow,
    TariffRow,
    WeightRow,
)
from services.billing.months import Month, MonthWindow
from services.billing.records import (
    Line,
    LineKind,
    StatementKind,
    StatementStatus,
    StoredStatement,
    lines_of,
    vat_summary,
)
from services.billing.tariffs import Allowance, Meter, Plan, PlanPeriod, Tariff, TariffBook
from services.billing.usage import UsageSession
from services.ledger.db import open_ledger
from services.ledger.models import MemberRow, SessionRow
from services.ledger.review import unbilled_session_ids

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
STATEMENTS = cast(Table, StatementRow.__table__)
LINES = cast(Table, StatementLineRow.__table__)
NUMBERS = cast(Table, StatementNumberRow.__table__)
SESSIONS = cast(Table, SessionRow.__table__)
_LINE_FIELDS = tuple(Line.__dataclass_fields__)
_UNIX_EPOCH_JULIAN_DAY = 2_440_587.5
_READ_CHUNK = 20_000  # session rows fetched at a time
_SCAN_WHEN_A_PART_OF = 6  # see _ended_since_sql


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _no_progress(_done: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class DraftResult:
    """What making a month's drafts did."""

    made: int
    replaced: int
    already_issued: int
    # Members whose issued statement no longer matches the ledger (sessions booked late).
    differ_from_issued: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One step of a monthly run, as the run log keeps it."""

    month: str
    step: str
    outcome: str
    started_at: datetime
    finished_at: datetime | None
    statements: int
    detail: str | None


class BillingLedger:
    """Reads and writes billing's tables and the ledger rows billing needs."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.engine = engine
        self._clock = clock
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        dialects = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
        if engine.dialect.name not in dialects:
            raise BillingError(f"ledger url: {engine.dialect.name} is not supported")
        self._upsert: Callable[[Any], Any] = dialects[engine.dialect.name]

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], datetime] = _utc_now) -> BillingLedger:
        """Open (and migrate) the ledger at a SQLAlchemy URL."""
        return cls(open_ledger(url), clock=clock)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self, what: str) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except IntegrityError as err:
            raise BillingInputError(what, f"refused by the ledger: {err.orig}") from err
        except SQLAlchemyError as err:
            raise BillingError(f"{what}: {err}") from err

    # --- tariffs, plans, weights -------------------------------------------------------------

    def add_tariff(self, tariff: Tariff) -> None:
        """Add a tariff row; a second row for the same scope and day is refused."""
        with self._transaction("tariff") as session:
            session.add(
                TariffRow(
                    site=tariff.site or "",
                    machine=tariff.machine or "",
                    plan=tariff.plan or "",
                    valid_from=tariff.valid_from,
                    per_running_minute_micros=tariff.per_running_minute,
                    per_unlocked_minute_micros=tariff.per_unlocked_minute,
                    per_kwh_micros=tariff.per_kwh,
                    minimum_cents=tariff.minimum_cents,
                    vat_bp=tariff.vat_bp,
                    created_at=self._clock(),
                )
            )

    def tariffs(self) -> list[Tariff]:
        """Every tariff row, by scope and day."""
        query = select(TariffRow).order_by(
            TariffRow.site, TariffRow.machine, TariffRow.plan, TariffRow.valid_from
        )
        with self._transaction("read tariffs") as session:
            return [_tariff(row) for row in session.scalars(query)]

    def save_plan(self, plan: Plan) -> None:
        """Create a plan or replace its fee and allowances."""
        with self._transaction("plan") as session:
            row = session.get(PlanRow, plan.name)
            if row is None:
                row = PlanRow(name=plan.name)
                session.add(row)
            row.monthly_fee_cents = plan.monthly_fee_cents
            row.vat_bp = plan.vat_bp
            row.allowances = [
                PlanAllowanceRow(
                    meter=allowance.meter.value,
                    quantity=allowance.quantity,
                    site=allowance.site or "",
                    machine=allowance.machine or "",
                )
                for allowance in plan.allowances
            ]

    def plans(self) -> dict[str, Plan]:
        """Every plan by name."""
        with self._transaction("read plans") as session:
            return {row.name: _plan(row) for row in session.scalars(select(PlanRow))}

    def assign_plan(self, member: str, plan: str | None, *, valid_from: date) -> None:
        """Put a member on a plan (None: no plan) from a local day on."""
        with self._transaction("plan") as session:
            if session.get(MemberRow, member) is None:
                raise BillingInputError("member", f"{member!r} is not a registered member")
            if plan is not None and session.get(PlanRow, plan) is None:
                raise BillingInputError("plan", f"{plan!r} is not a plan")
            row = session.get(MemberPlanRow, (member, valid_from))
            if row is None:
                session.add(MemberPlanRow(member=member, valid_from=valid_from, plan=plan))
            else:
                row.plan = plan

    def set_locale(self, member: str, locale: str) -> None:
        """The language of a member's statements."""
        with self._transaction("locale") as session:
            if session.get(MemberRow, member) is None:
                raise BillingInputError("member", f"{member!r} is not a registered member")
            row = session.get(BillingProfileRow, member)
            if row is None:
                session.add(BillingProfileRow(member=member, locale=locale))
            else:
                row.locale = locale

    def set_weight(self, weight_set: str, member: str, weight_milli: int) -> None:
        """A member's weight (thousandths) in a named set such as `desks` or `square-metres`."""
        if weight_milli < 0:
            raise BillingInputError("weight", "must not be negative")
        with self._transaction("weight") as session:
            if session.get(MemberRow, member) is None:
                raise BillingInputError("member", f"{member!r} is not a registered member")
            row = session.get(WeightRow, (weight_set, member))
            if row is None:
                session.add(
                    WeightRow(weight_set=weight_set, member=member, weight_milli=weight_milli)
                )
            else:
                row.weight_milli = weight_milli

    # --- cost pools ------------------------------------------------------------------------

    def add_pool(self, month: Month, pool: CostPool, *, source: str = "cli") -> CostPool:
        """Enter a month's shared bill; a second pool of the same name that month is refused."""
        with self._transaction(f"cost pool {pool.name!r}") as session:
            if self._issued_count(session, month):
                raise StatementStateError(
                    f"{month} is already issued: a new pool needs a credit note or next month"
                )
            exists = session.scalar(
                select(CostPoolRow.id).where(
                    CostPoolRow.month == str(month), CostPoolRow.name == pool.name
                )
            )
            if exists is not None:
                raise BillingInputError("name", f"{month} already has a pool named {pool.name!r}")
            row = _pool_row(month, pool, source, self._clock())
            session.add(row)
            session.flush()
            return _pool(row)

    def remove_pool(self, month: Month, name: str) -> None:
        """Take back a pool entered by mistake, while the month has no issued statement."""
        with self._transaction(f"remove cost pool {name!r}") as session:
            if self._issued_count(session, month):
                raise StatementStateError(f"{month} is already issued")
            row = session.scalar(
                select(CostPoolRow).where(CostPoolRow.month == str(month), CostPoolRow.name == name)
            )
            if row is None:
                raise BillingInputError("name", f"{month} has no pool named {name!r}")
            session.delete(row)

    def pools(self, month: Month) -> list[CostPool]:
        """A month's cost pools, in the order they were entered."""
        query = select(CostPoolRow).where(CostPoolRow.month == str(month)).order_by(CostPoolRow.id)
        with self._transaction("read cost pools") as session:
            return [_pool(row) for row in session.scalars(query)]

    # --- a month's inputs ---------------------------------------------------------------------

    def month_inputs(self, month: Month, tz: ZoneInfo) -> MonthInputs:
        """Everything `bill_month` needs for a month, read in one transaction."""
        window = MonthWindow(month, tz)
        millis = _epoch_ms_sql(self.engine.dialect.name)
        # The ledger keeps seconds and Wh as floats: here, once, they become integer milli-units.
        columns = (
            SESSIONS.c.id,
            SESSIONS.c.site,
            SESSIONS.c.machine,
            SESSIONS.c.member,
            millis(SESSIONS.c.started),
            millis(SESSIONS.c.ended),
            _milli_sql(SESSIONS.c.unlocked_s),
            _milli_sql(SESSIONS.c.running_s),
            _milli_sql(SESSIONS.c.idle_s),
            _milli_sql(SESSIONS.c.energy_wh),
        )
        with self._transaction(f"read {month}") as session, collector_paused():
            connection = session.connection()
            query = select(*columns).where(
                _ended_since_sql(connection, window.start),
                SESSIONS.c.started < window.end,
                # Held for review (a member the registry did not know) or dismissed: not billed.
                SESSIONS.c.id.not_in(unbilled_session_ids()),
            )
            sessions: list[UsageSession] = []
            # Plain tuples in chunks: no ORM object, no second list of every row.
            for rows in connection.execute(query).partitions(_READ_CHUNK):
                sessions.extend(map(UsageSession._make, rows))
            profiles = select(BillingProfileRow.member, BillingProfileRow.locale)
            locales = {member: locale for member, locale in session.execute(profiles)}
            members = {
                row.id: MemberAccount(
                    id=row.id,
                    name=row.name,
                    email=row.email,
                    joined_at=row.joined_at,
                    left_at=row.erased_at,
                    locale=locales.get(row.id),
                )
                for row in session.scalars(select(MemberRow))
            }
            plans = {row.name: _plan(row) for row in session.scalars(select(PlanRow))}
            periods = [
                PlanPeriod(row.member, row.valid_from, row.plan)
                for row in session.scalars(select(MemberPlanRow))
            ]
            tariffs = [_tariff(row) for row in session.scalars(select(TariffRow))]
            pool_query = select(CostPoolRow).where(CostPoolRow.month == str(month))
            pools = [_pool(row) for row in session.scalars(pool_query.order_by(CostPoolRow.id))]
            weights: dict[str, dict[str, int]] = {}
            for row in session.scalars(select(WeightRow)):
                weights.setdefault(row.weight_set, {})[row.member] = row.weight_milli
        return MonthInputs(
            month=month,
            tz=tz,
            sessions=sessions,
            members=members,
            plans=plans,
            plan_periods=periods,
            tariffs=TariffBook.of(tariffs),
            pools=pools,
            weights=weights,
        )

    # --- statements ---------------------------------------------------------------------------

    def save_drafts(
        self,
        computed: MonthStatements,
        *,
        locale: str,
        currency: str,
        progress: Progress = _no_progress,
    ) -> DraftResult:
        """Replace a month's drafts with freshly computed ones, in one transaction.

        Members whose statement for the month is already issued keep it: issued statements never
        change, so a difference (a session booked late) is reported, not applied.
        """
        month = str(computed.month)
        now = self._clock()
        with self._transaction(f"drafts of {month}") as session:
            # A write first: on SQLite it takes the database's write lock before anything is read.
            replaced = session.execute(
                delete(StatementRow).where(
                    StatementRow.month == month,
                    StatementRow.kind == StatementKind.STATEMENT.value,
                    StatementRow.status == StatementStatus.DRAFT.value,
                )
            )
            issued_query = select(StatementRow.member, StatementRow.net_cents).where(
                StatementRow.month == month,
                StatementRow.kind == StatementKind.STATEMENT.value,
                StatementRow.status == StatementStatus.ISSUED.value,
            )
            issued = {member: net for member, net in session.execute(issued_query)}
            differ: list[str] = []
            made = 0
            for statement in computed.statements:
                member = statement.member
                if member.id in issued:
                    if issued[member.id] != statement.net_cents:
                        differ.append(member.id)
                    progress(1)
                    continue
                header = {
                    "kind": StatementKind.STATEMENT.value,
                    "member": member.id,
                    "month": month,
                    "revision": 1,
                    "status": StatementStatus.DRAFT.value,
                    "member_name": member.name,
                    "member_email": member.email,
                    "locale": member.locale or locale,
                    "currency": currency,
                    "net_cents": statement.net_cents,
                    "vat_cents": statement.vat_cents,
                    "total_cents": statement.total_cents,
                    "made_at": now,
                }
                statement_id = session.execute(
                    insert(STATEMENTS).values(header).returning(STATEMENTS.c.id)
                ).scalar_one()
                rows = [
                    {"statement_id": statement_id, "position": n, **_line_values(line)}
                    for n, line in enumerate(lines_of(statement), start=1)
                ]
                if rows:
                    session.execute(insert(LINES), rows)
                made += 1
                progress(1)
        if differ:
            log.warning(
                "%s: %d issued statements differ from the ledger now (late sessions?): %s",
                month,
                len(differ),
                ", ".join(differ[:10]),
            )
        return DraftResult(made, cast(Any, replaced).rowcount or 0, len(issued), tuple(differ))

    def issue_month(
        self, month: Month, *, tz: ZoneInfo, progress: Progress = _no_progress
    ) -> list[str]:
        """Issue every draft of a month, numbered in member order; returns the numbers given."""
        now = self._clock()
        year = now.astimezone(tz).year
        with self._transaction(f"issue {month}") as session:
            self._lock_counter(session, year)
            query = (
                select(StatementRow)
                .where(
                    StatementRow.month == str(month),
                    StatementRow.kind == StatementKind.STATEMENT.value,
                    StatementRow.status == StatementStatus.DRAFT.value,
                )
                .order_by(StatementRow.member)
                .with_for_update()
            )
            drafts = list(session.scalars(query))
            if not drafts:
                return []
            first = self._take_numbers(session, year, len(drafts))
            numbers = []
            for offset, row in enumerate(drafts):
                row.status = StatementStatus.ISSUED.value
                row.number_year = year
                row.number_seq = first + offset
                row.issued_at = now
                session.flush()
                numbers.append(cast(str, row.number))
                progress(1)
        log.info("%s: issued %d statements, %s to %s", month, len(numbers), numbers[0], numbers[-1])
        return numbers

    def _lock_counter(self, session: Session, year: int) -> None:
        statement = self._upsert(NUMBERS).values(year=year, last=0)
        session.execute(statement.on_conflict_do_nothing(index_elements=["year"]))

    def _take_numbers(self, session: Session, year: int, count: int) -> int:
        """Reserve `count` numbers of a year's series; returns the first."""
        last = session.execute(
            update(NUMBERS)
            .where(NUMBERS.c.year == year)
            .values(last=NUMBERS.c.last + count)
            .returning(NUMBERS.c.last)
        ).scalar_one()
        return int(last) - count + 1

    def credit(
        self,
        number: str,
        *,
        reason: str,
        tz: ZoneInfo,
        net_cents: int | None = None,
        vat_bp: int | None = None,
    ) -> StoredStatement:
        """Issue a credit note against an issued statement: all of it, or a net amount."""
        if not reason.strip():
            raise BillingInputError("reason", "a credit note says why")
        now = self._clock()
        year = now.astimezone(tz).year
        with self._transaction(f"credit {number}") as session:
            self._lock_counter(session, year)
            original = self._by_number(session, number)
            if original.kind != StatementKind.STATEMENT.value:
                raise StatementStateError(f"{number} is a credit note: credit the statement")
            original_lines = [_line(row) for row in self._line_rows(session, original.id)]
            already = session.scalar(
                select(func.coalesce(func.sum(StatementRow.net_cents), 0)).where(
                    StatementRow.credits_id == original.id
                )
            )
            left = original.net_cents + int(already or 0)
            if net_cents is None:
                if int(already or 0) != 0:
                    raise StatementStateError(
                        f"{number} was already partly credited: give the amount to credit"
                    )
                lines = [
                    Line(
                        kind=LineKind.CREDIT,
                        net_cents=-vat.net_cents,
                        vat_bp=vat.vat_bp,
                        reference=number,
                        note=reason,
                    )
                    for vat in vat_summary(original_lines)
                    if vat.net_cents
                ]
            else:
                rates = {vat.vat_bp for vat in vat_summary(original_lines) if vat.net_cents}
                if vat_bp is None:
                    if len(rates) > 1:
                        raise BillingInputError("vat", f"{number} has several VAT rates: name one")
                    vat_bp = next(iter(rates), 0)
                if not 0 < net_cents <= left:
                    raise BillingInputError(
                        "amount", f"must be more than 0 and at most what is left ({left} cents)"
                    )
                lines = [
                    Line(
                        kind=LineKind.CREDIT,
                        net_cents=-net_cents,
                        vat_bp=vat_bp,
                        reference=number,
                        note=reason,
                    )
                ]
            summary = vat_summary(lines)
            revision = 1 + (
                session.scalar(select(func.count()).where(StatementRow.credits_id == original.id))
                or 0
            )
            row = StatementRow(
                kind=StatementKind.CREDIT_NOTE.value,
                member=original.member,
                month=original.month,
                revision=revision,
                status=StatementStatus.ISSUED.value,
                credits_id=original.id,
                reason=reason,
                member_name=original.member_name,
                member_email=original.member_email,
                locale=original.locale,
                currency=original.currency,
                net_cents=sum(v.net_cents for v in summary),
                vat_cents=sum(v.vat_cents for v in summary),
                total_cents=sum(v.net_cents + v.vat_cents for v in summary),
                made_at=now,
                issued_at=now,
                number_year=year,
                number_seq=self._take_numbers(session, year, 1),
            )
            session.add(row)
            session.flush()
            session.execute(
                insert(LINES),
                [
                    {"statement_id": row.id, "position": n, **_line_values(line)}
                    for n, line in enumerate(lines, start=1)
                ],
            )
            return self._stored(session, row)

    def _by_number(self, session: Session, number: str) -> StatementRow:
        year, seq = _parse_number(number)
        row = session.scalar(
            select(StatementRow).where(
                StatementRow.number_year == year, StatementRow.number_seq == seq
            )
        )
        if row is None:
            raise BillingInputError("number", f"no issued statement {number}")
        return row

    def _line_rows(self, session: Session, statement_id: int) -> Sequence[StatementLineRow]:
        query = (
            select(StatementLineRow)
            .where(StatementLineRow.statement_id == statement_id)
            .order_by(StatementLineRow.position)
        )
        return session.scalars(query).all()

    def _stored(self, session: Session, row: StatementRow) -> StoredStatement:
        credits_number = None
        if row.credits_id is not None:
            original = session.get(StatementRow, row.credits_id)
            credits_number = original.number if original is not None else None
        return _stored(
            row, [_line(line) for line in self._line_rows(session, row.id)], credits_number
        )

    def statement(self, number: str) -> StoredStatement:
        """An issued statement or credit note by its number."""
        with self._transaction(f"read {number}") as session:
            return self._stored(session, self._by_number(session, number))

    def statements(
        self,
        month: Month,
        *,
        status: StatementStatus | None = None,
        kind: StatementKind | None = None,
        with_lines: bool = True,
    ) -> list[StoredStatement]:
        """A month's statements (and credit notes), by member; lines loaded unless told not to."""
        query = select(StatementRow).where(StatementRow.month == str(month))
        if status is not None:
            query = query.where(StatementRow.status == status.value)
        if kind is not None:
            query = query.where(StatementRow.kind == kind.value)
        query = query.order_by(StatementRow.member, StatementRow.kind, StatementRow.revision)
        if with_lines:
            query = query.options(selectinload(StatementRow.lines))
        with self._transaction(f"read statements of {month}") as session:
            rows = list(session.scalars(query))
            numbers = {row.id: row.number for row in rows}
            return [
                _stored(
                    row,
                    [_line(line) for line in row.lines] if with_lines else [],
                    numbers.get(row.credits_id) if row.credits_id is not None else None,
                )
                for row in rows
            ]

    def unsent(self, month: Month | None = None) -> list[StoredStatement]:
        """Issued statements and credit notes not yet e-mailed (of one month, or all)."""
        query = select(StatementRow).where(
            StatementRow.status == StatementStatus.ISSUED.value, StatementRow.emailed_at.is_(None)
        )
        if month is not None:
            query = query.where(StatementRow.month == str(month))
        query = query.order_by(StatementRow.number_year, StatementRow.number_seq)
        with self._transaction("read unsent statements") as session:
            return [self._stored(session, row) for row in session.scalars(query)]

    def mark_emailed(self, statement_id: int) -> None:
        """Note that a statement reached the mail server."""
        with self._transaction("mark a statement e-mailed") as session:
            session.execute(
                update(StatementRow)
                .where(StatementRow.id == statement_id)
                .values(emailed_at=self._clock())
            )

    def _issued_count(self, session: Session, month: Month) -> int:
        return int(
            session.scalar(
                select(func.count()).where(
                    StatementRow.month == str(month),
                    StatementRow.status == StatementStatus.ISSUED.value,
                )
            )
            or 0
        )

    def month_state(self, month: Month) -> tuple[int, int, datetime | None]:
        """Drafts, issued statements, and when the oldest draft was made, for a month."""
        with self._transaction(f"read {month}") as session:
            rows = session.execute(
                select(StatementRow.status, func.count(), func.min(StatementRow.made_at))
                .where(
                    StatementRow.month == str(month),
                    StatementRow.kind == StatementKind.STATEMENT.value,
                )
                .group_by(StatementRow.status)
            ).all()
        counts = {status: (count, made) for status, count, made in rows}
        drafts, oldest = counts.get(StatementStatus.DRAFT.value, (0, None))
        issued, _ = counts.get(StatementStatus.ISSUED.value, (0, None))
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)  # func.min bypasses the column type on SQLite
        return drafts, issued, oldest

    # --- the run log --------------------------------------------------------------------------

    def start_run(self, month: Month, step: str) -> int:
        """Log that a step of a month's run began; returns its id."""
        with self._transaction("run log") as session:
            row = BillingRunRow(
                month=str(month), step=step, started_at=self._clock(), outcome="running"
            )
            session.add(row)
            session.flush()
            return row.id

    def finish_run(
        self, run_id: int, *, outcome: str, statements: int = 0, detail: str | None = None
    ) -> None:
        """Log how a step ended: done, failed (with why), or skipped."""
        with self._transaction("run log") as session:
            session.execute(
                update(BillingRunRow)
                .where(BillingRunRow.id == run_id)
                .values(
                    outcome=outcome,
                    statements=statements,
                    detail=detail,
                    finished_at=self._clock(),
                )
            )

    def runs(self, month: Month | None = None) -> list[RunRecord]:
        """The run log, oldest first."""
        query = select(BillingRunRow).order_by(BillingRunRow.id)
        if month is not None:
            query = query.where(BillingRunRow.month == str(month))
        with self._transaction("read the run log") as session:
            return [
                RunRecord(
                    row.month,
                    row.step,
                    row.outcome,
                    row.started_at,
                    row.finished_at,
                    row.statements,
                    row.detail,
                )
                for row in session.scalars(query)
            ]

    def first_session_day(self) -> datetime | None:
        """When the oldest booked session started (where a scheduler's catch-up begins)."""
        with self._transaction("read the first session") as session:
            first = session.scalar(select(func.min(SessionRow.started)))
        if first is not None and first.tzinfo is None:
            first = first.replace(tzinfo=UTC)
        return first


def _milli_sql(column: ColumnElement[float]) -> ColumnElement[int]:
    """Milli-units of a float column, rounded to the nearest integer by the database."""
    return sql_cast(func.round(column * 1000), BigInteger)


def _ended_since_sql(connection: Connection, start: datetime) -> ColumnElement[bool]:
    """Sessions that ended at or after a month's start, read by the cheaper plan."""
    ended_since = SESSIONS.c.ended >= start
    if connection.dialect.name != "sqlite":
        return ended_since  # PostgreSQL keeps the statistics to choose for itself
    # SQLite keeps no statistics of how many rows a range holds, so it always takes the `ended`
    # index and fetches each row in index order, at random in the table: sessions are stored
    # when they arrive, not when they ended. Fetching a row by id costs about six times reading
    # it in a scan (measured), so a month that is a sixth of the table or more is read by a
    # scan; a smaller one has its row ids collected from the index first and then read in
    # storage order, as PostgreSQL's bitmap heap scan does.
    candidates = connection.execute(
        select(func.count()).select_from(SESSIONS).where(ended_since)
    ).scalar_one()
    row_id: ColumnElement[int] = literal_column("rowid", BigInteger)
    stored = connection.execute(select(func.max(row_id)).select_from(SESSIONS)).scalar() or 0
    if candidates * _SCAN_WHEN_A_PART_OF >= stored:
        # `+ended` is the same value to SQLite, but not a column it can use an index for.
        unindexed = type_coerce(literal_column("+sessions.ended"), SESSIONS.c.ended.type)
        return unindexed >= start
    row_ids = select(row_id).select_from(SESSIONS).where(ended_since)
    return literal_column("sessions.rowid", BigInteger).in_(row_ids.scalar_subquery())


def _epoch_ms_sql(dialect: str) -> Callable[[ColumnElement[datetime]], ColumnElement[int]]:
    """Epoch milliseconds of a UTC timestamp column, computed by the database."""
    if dialect == "postgresql":
        return lambda column: sql_cast(func.round(extract("epoch", column) * 1000), BigInteger)
    # SQLite keeps the instant as UTC text; a Julian day is exact to well under a millisecond.
    return lambda column: sql_cast(
        func.round((func.julianday(column) - _UNIX_EPOCH_JULIAN_DAY) * 86_400_000), BigInteger
    )


def _parse_number(number: str) -> tuple[int, int]:
    year, _, seq = number.strip().partition("/")
    if not (year.isdigit() and seq.isdigit() and len(year) == 4):
        raise BillingInputError("number", f"{number!r} is not YYYY/NNNN")
    return int(year), int(seq)


def _tariff(row: TariffRow) -> Tariff:
    return Tariff(
        valid_from=row.valid_from,
        site=row.site or None,
        machine=row.machine or None,
        plan=row.plan or None,
        per_running_minute=row.per_running_minute_micros,
        per_unlocked_minute=row.per_unlocked_minute_micros,
        per_kwh=row.per_kwh_micros,
        minimum_cents=row.minimum_cents,
        vat_bp=row.vat_bp,
    )


def _plan(row: PlanRow) -> Plan:
    return Plan(
        name=row.name,
        monthly_fee_cents=row.monthly_fee_cents,
        vat_bp=row.vat_bp,
        allowances=tuple(
            Allowance(
                meter=Meter(allowance.meter),
                quantity=allowance.quantity,
                site=allowance.site or None,
                machine=allowance.machine or None,
            )
            for allowance in row.allowances
        ),
    )


def _pool_row(month: Month, pool: CostPool, source: str, now: datetime) -> CostPoolRow:
    return CostPoolRow(
        month=str(month),
        name=pool.name,
        total_cents=pool.total_cents,
        key=pool.key.value,
        weight_set=pool.weight_set,
        billed_quantity=pool.billed_quantity,
        remainder_key=pool.remainder_key.value if pool.remainder_key else None,
        remainder_weight_set=pool.remainder_weight_set,
        vat_bp=pool.vat_bp,
        source=source,
        created_at=now,
        machines=[
            CostPoolMachineRow(site=site, machine=machine) for site, machine in pool.machines
        ],
    )


def _pool(row: CostPoolRow) -> CostPool:
    return CostPool(
        id=row.id,
        name=row.name,
        total_cents=row.total_cents,
        key=AllocationKey(row.key),
        machines=tuple(sorted((m.site, m.machine) for m in row.machines)),
        weight_set=row.weight_set,
        billed_quantity=row.billed_quantity,
        remainder_key=AllocationKey(row.remainder_key) if row.remainder_key else None,
        remainder_weight_set=row.remainder_weight_set,
        vat_bp=row.vat_bp,
    )


def _line_values(line: Line) -> dict[str, object]:
    values = {name: getattr(line, name) for name in _LINE_FIELDS}
    values["kind"] = line.kind.value
    return values


def _line(row: StatementLineRow) -> Line:
    values = {name: getattr(row, name) for name in _LINE_FIELDS}
    values["kind"] = LineKind(row.kind)
    return Line(**values)


def _stored(row: StatementRow, lines: list[Line], credits_number: str | None) -> StoredStatement:
    return StoredStatement(
        id=row.id,
        kind=StatementKind(row.kind),
        status=StatementStatus(row.status),
        member=row.member,
        member_name=row.member_name,
        member_email=row.member_email,
        month=row.month,
        revision=row.revision,
        number=row.number,
        credits_number=credits_number,
        reason=row.reason,
        locale=row.locale,
        currency=row.currency,
        net_cents=row.net_cents,
        vat_cents=row.vat_cents,
        total_cents=row.total_cents,
        made_at=row.made_at,
        issued_at=row.issued_at,
        emailed_at=row.emailed_at,
        lines=tuple(lines),
    )
