"""Statements in the ledger: drafts made again freely, issued once, numbered without gaps."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, inspect

from services.billing.allocation import AllocationKey, CostPool
from services.billing.errors import BillingInputError, StatementStateError
from services.billing.months import Month
from services.billing.records import LineKind, StatementKind, StatementStatus
from services.billing.store import BillingLedger
from services.billing.tariffs import Tariff
from services.billing.usage import epoch_ms
from services.ledger.models import SessionRow
from tests.billing.conftest import Shop, book, join
from tests.billing.examples import LASER, ROME, SITE, rome

OCTOBER = Month(2026, 10)
READ_MORE_THAN_A_CHUNK = 20_050  # the month's sessions are read 20,000 at a time


def price_laser(shop: Shop, per_minute: int = 500_000, *, since: date = date(2026, 1, 1)) -> None:
    shop.billing.ledger.add_tariff(
        Tariff(valid_from=since, site=SITE, machine=LASER, per_running_minute=per_minute)
    )


def busy_october(shop: Shop, members: tuple[str, ...] = ("anna", "bruno", "carla")) -> None:
    price_laser(shop)
    for n, member in enumerate(members, start=1):
        join(shop, member)
        book(shop, member, rome(2026, 10, 5 + n, 10), minutes=10 * n, kwh=n)
    shop.billing.ledger.add_pool(
        OCTOBER, CostPool(name="electricity", total_cents=10_000, key=AllocationKey.KWH)
    )


def test_a_run_makes_one_draft_per_member_with_sessions_and_shares(shop: Shop) -> None:
    busy_october(shop)
    result = shop.billing.make_drafts(OCTOBER)
    assert result.made == 3
    drafts = shop.billing.ledger.statements(OCTOBER)
    assert [(s.member, s.status, s.number) for s in drafts] == [
        ("anna", StatementStatus.DRAFT, None),
        ("bruno", StatementStatus.DRAFT, None),
        ("carla", StatementStatus.DRAFT, None),
    ]
    bruno = drafts[1]
    assert [line.net_cents for line in bruno.lines_of_kind(LineKind.SESSION)] == [1_000]
    # 10,000 cents by kWh 1:2:3
    assert [line.net_cents for line in bruno.lines_of_kind(LineKind.POOL_SHARE)] == [3_333]
    assert sum(s.total_cents for s in drafts) == 500 + 1_000 + 1_500 + 10_000


def test_the_month_reads_every_session_that_touches_it_and_no_other(shop: Shop) -> None:
    start, end = rome(2026, 10, 1), rome(2026, 11, 1)
    join(shop, "anna")
    booked = {
        "ends before": book(shop, "anna", start - timedelta(hours=2), minutes=60),
        "ends at the start": book(shop, "anna", start - timedelta(hours=1), minutes=60),
        "crosses the start": book(shop, "anna", start - timedelta(minutes=30), minutes=60),
        "inside": book(shop, "anna", rome(2026, 10, 25, 1, 30), minutes=120, kwh=1.2345),
        "crosses the end": book(shop, "anna", end - timedelta(minutes=30), minutes=60),
        "starts at the end": book(shop, "anna", end, minutes=60),
    }
    # More sessions than the read fetches at a time, stored in no particular order of their end.
    many = [
        {
            "id": f"many-{n:05d}",
            "site": SITE,
            "machine": LASER,
            "member": "anna",
            "card_hash": "0" * 64,
            "started": rome(2026, 10, 2) + timedelta(minutes=(n * 7_919) % 40_000),
            "ended": rome(2026, 10, 2) + timedelta(minutes=(n * 7_919) % 40_000 + 3),
            "unlocked_s": 180.0,
            "running_s": 120.5,
            "idle_s": 59.5,
            "energy_wh": 0.25,
            "end_reason": "badge_out",
            "clock_ok": True,
            "received_at": rome(2026, 11, 1),
            "deliveries": 1,
        }
        for n in range(READ_MORE_THAN_A_CHUNK)
    ]
    with shop.billing.ledger.engine.begin() as connection:
        connection.execute(insert(SessionRow), many)
    inputs = shop.billing.ledger.month_inputs(OCTOBER, ROME)
    read = {session.id: session for session in inputs.sessions}
    touching = ("ends at the start", "crosses the start", "inside", "crosses the end")
    assert set(read) == {booked[name] for name in touching} | {row["id"] for row in many}
    assert len(inputs.sessions) == len(read)
    inside = read[booked["inside"]]
    assert (inside.started_ms, inside.ended_ms) == (
        epoch_ms(rome(2026, 10, 25, 1, 30)),
        epoch_ms(rome(2026, 10, 25, 1, 30)) + 120 * 60_000,
    )
    assert (inside.running_ms, inside.unlocked_ms, inside.energy_mwh) == (
        7_200_000,
        7_200_000,
        1_234_500,
    )
    # Few of the ledger's sessions ended after November began (on SQLite: found through the
    # index), most after September or October began (on SQLite: a scan); each month gets its own.
    before = {
        session.id for session in shop.billing.ledger.month_inputs(Month(2026, 9), ROME).sessions
    }
    after = {
        session.id for session in shop.billing.ledger.month_inputs(Month(2026, 11), ROME).sessions
    }
    assert before == {
        booked[name] for name in ("ends before", "ends at the start", "crosses the start")
    }
    assert after == {booked[name] for name in ("crosses the end", "starts at the end")}


def test_running_a_month_again_replaces_drafts_and_never_doubles_them(shop: Shop) -> None:
    busy_october(shop)
    shop.billing.make_drafts(OCTOBER)
    book(shop, "anna", rome(2026, 10, 20, 10), minutes=4)  # booked late
    again = shop.billing.make_drafts(OCTOBER)
    assert (again.made, again.replaced) == (3, 3)
    statements = shop.billing.ledger.statements(OCTOBER)
    assert len(statements) == 3
    assert statements[0].lines_of_kind(LineKind.SESSION)[-1].net_cents == 200


def test_issuing_numbers_every_statement_of_the_year_without_gaps(shop: Shop) -> None:
    busy_october(shop)
    shop.billing.make_drafts(OCTOBER)
    assert shop.billing.issue(OCTOBER) == ["2026/0001", "2026/0002", "2026/0003"]
    book(shop, "anna", rome(2026, 11, 3, 10), minutes=10)
    shop.billing.make_drafts(Month(2026, 11))
    shop.clock.now = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert shop.billing.issue(Month(2026, 11)) == ["2026/0004"]
    # Issued in January: the new year's series starts again at 1.
    book(shop, "bruno", rome(2026, 12, 3, 10), minutes=10)
    shop.billing.make_drafts(Month(2026, 12))
    shop.clock.now = rome(2027, 1, 1, 6)
    assert shop.billing.issue(Month(2026, 12)) == ["2027/0001"]


def test_an_issued_statement_never_changes_when_the_month_is_run_again(shop: Shop) -> None:
    busy_october(shop)
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)
    before = shop.billing.ledger.statement("2026/0001")
    book(shop, "anna", rome(2026, 10, 20, 10), minutes=30)  # booked after the issue
    join(shop, "dario")
    book(shop, "dario", rome(2026, 10, 21, 10), minutes=10)
    result = shop.billing.make_drafts(OCTOBER)
    assert result.differ_from_issued == ("anna",)
    assert result.made == 1  # dario's first statement, as a draft
    assert shop.billing.ledger.statement("2026/0001") == before
    with pytest.raises(StatementStateError, match="already issued"):
        shop.billing.ledger.add_pool(
            OCTOBER, CostPool(name="rent", total_cents=1, key=AllocationKey.EQUAL)
        )


def test_a_crash_halfway_through_issuing_leaves_no_statement_issued(shop: Shop) -> None:
    busy_october(shop, ("anna", "bruno", "carla", "dario", "elena"))
    shop.billing.make_drafts(OCTOBER)
    issued: list[int] = []

    def crash_after_two(step: int) -> None:
        issued.append(step)
        if len(issued) == 3:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        shop.billing.ledger.issue_month(OCTOBER, tz=ROME, progress=crash_after_two)
    assert {s.status for s in shop.billing.ledger.statements(OCTOBER)} == {StatementStatus.DRAFT}
    assert shop.billing.issue(OCTOBER) == [f"2026/{n:04d}" for n in range(1, 6)]


def _issue_and_die(url: str) -> None:
    """In a child process: issue October and die, without cleanup, after the third statement."""
    ledger = BillingLedger.open(url, clock=lambda: datetime(2026, 11, 2, 9, tzinfo=UTC))
    done = [0]

    def die(step: int) -> None:
        done[0] += step
        if done[0] == 3:
            os._exit(17)

    ledger.issue_month(OCTOBER, tz=ROME, progress=die)


def test_a_process_killed_while_issuing_leaves_the_month_to_be_issued_again(
    shop: Shop, ledger_url: str
) -> None:
    busy_october(shop, ("anna", "bruno", "carla", "dario", "elena"))
    shop.billing.make_drafts(OCTOBER)
    child = multiprocessing.get_context("spawn").Process(target=_issue_and_die, args=(ledger_url,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 17
    assert {s.status for s in shop.billing.ledger.statements(OCTOBER)} == {StatementStatus.DRAFT}
    assert shop.billing.issue(OCTOBER)[-1] == "2026/0005"


def test_a_credit_note_references_the_statement_and_takes_the_next_number(shop: Shop) -> None:
    busy_october(shop)
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)
    original = shop.billing.ledger.statement("2026/0002")
    note = shop.billing.credit("2026/0002", reason="laser was faulty")
    assert (note.number, note.kind, note.credits_number) == (
        "2026/0004",
        StatementKind.CREDIT_NOTE,
        "2026/0002",
    )
    assert note.total_cents == -original.total_cents
    with pytest.raises(StatementStateError, match="partly credited"):
        shop.billing.credit("2026/0002", reason="again")
    with pytest.raises(BillingInputError) as too_much:
        shop.billing.credit("2026/0001", reason="x", net_cents=10**6)
    assert too_much.value.field == "amount"
    partial = shop.billing.credit("2026/0001", reason="discount", net_cents=100)
    assert (partial.number, partial.net_cents) == ("2026/0005", -100)
    assert shop.billing.ledger.statement("2026/0002") == original


def test_every_credit_note_tried_is_in_the_run_log_with_how_it_ended(shop: Shop) -> None:
    busy_october(shop)
    shop.billing.make_drafts(OCTOBER)
    shop.billing.issue(OCTOBER)
    shop.billing.credit("2026/0002", reason="laser was faulty")
    with pytest.raises(BillingInputError):
        shop.billing.credit("2026/0001", reason="x", net_cents=10**6)
    credits = [
        (run.month, run.outcome, run.statements)
        for run in shop.billing.ledger.runs(OCTOBER)
        if run.step == "credit"
    ]
    assert credits == [("2026-10", "done", 1), ("2026-10", "failed", 0)]


def test_one_members_statements_are_read_without_anyone_elses(shop: Shop) -> None:
    busy_october(shop)
    shop.billing.make_drafts(OCTOBER)
    everyone = shop.billing.ledger.statements(OCTOBER)
    member = everyone[0].member
    mine = shop.billing.ledger.member_statements(OCTOBER, member)
    assert mine == [s for s in everyone if s.member == member] and len(mine) < len(everyone)


LEDGER_TABLES = {
    "sessions",
    "badge_events",
    "dead_letters",
    "machine_states",
    "members",
    "cards",
    "machines",
    "qualifications",
}


def _table_of(difference: object) -> str | None:
    """The table a schema difference is about (alembic's tuples hold the table or an index)."""
    item = difference[1] if isinstance(difference, tuple) else difference
    if isinstance(item, tuple):  # a column difference: (op, schema, table, column, ...)
        return str(item[2])
    table = getattr(item, "table", item)
    return getattr(table, "name", None)


def test_billing_tables_come_from_the_migration_and_go_away_with_it(ledger_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from services.ledger import Base
    from services.ledger.db import downgrade, migrate

    billing_tables = {
        table.name for table in Base.metadata.sorted_tables if table.name not in LEDGER_TABLES
    }
    ledger = BillingLedger.open(ledger_url)
    try:
        with ledger.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = [
                difference
                for difference in compare_metadata(context, Base.metadata)
                if _table_of(difference) in billing_tables | {"sessions"}
            ]
            assert differences == []
        downgrade(ledger.engine, "0002")
        tables = set(inspect(ledger.engine).get_table_names())
        assert not tables & {"statements", "tariffs", "cost_pools", "statement_numbers"}
        assert "sessions" in tables
        migrate(ledger.engine)
        assert "statements" in inspect(ledger.engine).get_table_names()
    finally:
        ledger.close()


def test_a_month_is_issued_only_once_it_has_ended(shop: Shop) -> None:
    price_laser(shop)
    join(shop, "anna")
    book(shop, "anna", rome(2026, 11, 3, 10), minutes=10)
    november = Month(2026, 11)
    shop.billing.make_drafts(november)  # drafts of a running month can be reviewed
    (draft,) = shop.billing.ledger.statements(november)
    shop.clock.now = rome(2026, 11, 30, 23, 59)
    with pytest.raises(StatementStateError, match=r"^month: 2026-11 is not over until 2026-12-01"):
        shop.billing.issue(november)
    with pytest.raises(StatementStateError, match=r"^month: 2026-11 is not over"):
        shop.billing.issue_statement(draft.id)
    assert [s.status for s in shop.billing.ledger.statements(november)] == [StatementStatus.DRAFT]
    shop.clock.now = rome(2026, 12, 1, 0, 0)
    assert shop.billing.issue(november) == ["2026/0001"]
