"""A month's inputs: the sessions, members, plans, tariffs, pools and weights `bill_month` reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Table,
    extract,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy import cast as sql_cast

from services.billing.booking_charges import bookings_in
from services.billing.engine import MemberAccount, MonthInputs
from services.billing.gc_pause import collector_paused
from services.billing.models import (
    BillingProfileRow,
    CostPoolRow,
    MemberPlanRow,
    PlanRow,
    TariffRow,
    WeightRow,
)
from services.billing.months import Month, MonthWindow
from services.billing.store.base import StoreBase
from services.billing.store.catalogue import plan_of, tariff_of
from services.billing.store.consumables import takes_in
from services.billing.store.pools import pool_of
from services.billing.store.prepaid import month_packs
from services.billing.tariffs import PlanPeriod, TariffBook
from services.billing.usage import UsageSession
from services.ledger.models import BillingPartyRow, CardRow, MemberRow, SessionRow
from services.ledger.review import unbilled_session_ids

SESSIONS = cast(Table, SessionRow.__table__)
CARDS = cast(Table, CardRow.__table__)
_UNIX_EPOCH_JULIAN_DAY = 2_440_587.5
_READ_CHUNK = 20_000  # session rows fetched at a time
_SCAN_WHEN_A_PART_OF = 6  # see _ended_since_sql


class InputsStore(StoreBase):
    """Reads what billing a month takes from the ledger."""

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
            CARDS.c.party_id,
        )
        with self._transaction(f"read {month}") as db, collector_paused():
            connection = db.connection()
            # The card used at badge-in names the party, if it is still the member's card.
            badged = SESSIONS.outerjoin(
                CARDS,
                (CARDS.c.site == SESSIONS.c.site)
                & (CARDS.c.card_hash == SESSIONS.c.card_hash)
                & (CARDS.c.member == SESSIONS.c.member),
            )
            query = (
                select(*columns)
                .select_from(badged)
                .where(
                    _ended_since_sql(connection, window.start),
                    SESSIONS.c.started < window.end,
                    # Held for review (a member the registry did not know) or dismissed: not billed.
                    SESSIONS.c.id.not_in(unbilled_session_ids()),
                )
            )
            sessions: list[UsageSession] = []
            # Plain tuples in chunks: no ORM object, no second list of every row.
            for rows in connection.execute(query).partitions(_READ_CHUNK):
                sessions.extend(map(UsageSession._make, rows))
            profiles = select(BillingProfileRow.member, BillingProfileRow.locale)
            locales = {member: locale for member, locale in db.execute(profiles)}
            defaults = select(BillingPartyRow.member, BillingPartyRow.id).where(
                BillingPartyRow.is_default.is_(True)
            )
            default_party = {member: party for member, party in db.execute(defaults)}
            members = {
                row.id: MemberAccount(
                    id=row.id,
                    name=row.name,
                    email=row.email,
                    joined_at=row.joined_at,
                    left_at=row.erased_at,
                    locale=locales.get(row.id),
                    default_party=default_party.get(row.id),
                )
                for row in db.scalars(select(MemberRow))
            }
            plans = {row.name: plan_of(row) for row in db.scalars(select(PlanRow))}
            periods = [
                PlanPeriod(row.member, row.valid_from, row.plan)
                for row in db.scalars(select(MemberPlanRow))
            ]
            tariffs = [tariff_of(row) for row in db.scalars(select(TariffRow))]
            pool_query = select(CostPoolRow).where(CostPoolRow.month == str(month))
            pools = [pool_of(row) for row in db.scalars(pool_query.order_by(CostPoolRow.id))]
            weights: dict[str, dict[str, int]] = {}
            for row in db.scalars(select(WeightRow)):
                weights.setdefault(row.weight_set, {})[row.member] = row.weight_milli
            packs, pack_sales = month_packs(db, str(month), window.start, window.end)
            takes = takes_in(db, month, tz)
            bookings = bookings_in(db, month, tz)
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
            packs=packs,
            pack_sales=pack_sales,
            takes=takes,
            bookings=bookings,
        )

    def first_session_day(self) -> datetime | None:
        """When the oldest booked session started (where a scheduler's catch-up begins)."""
        with self._transaction("read the first session") as db:
            first = db.scalar(select(func.min(SessionRow.started)))
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
