"""What a statement still owes counts its credit notes, and the scheduler reminds late members
by itself: once per interval, recorded in the ledger, through a real SMTP server."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.billing.fiscal_print import creditor_reference
from services.billing.mailer import Mailer
from services.billing.payments import import_bank_file, payments_of
from services.billing.reconcile import PaymentState
from services.billing.scheduler import StatementScheduler
from services.billing.service import Billing
from services.billing.settings import ScheduleSettings, SmtpSecurity, SmtpSettings
from tests.billing.camt import Entry, camt053
from tests.billing.conftest import Inbox, Shop
from tests.billing.examples import rome
from tests.billing.test_payments import issue_october


def test_a_credit_note_lowers_what_is_owed_and_the_rest_paid_settles_it(shop: Shop) -> None:
    october = issue_october(shop)
    anna, bruno = october["anna"], october["bruno"]
    assert anna.number is not None and bruno.number is not None
    # Ten euros of anna's statement taken back; all of bruno's.
    note = shop.billing.credit(anna.number, reason="laser down", net_cents=1000, vat_bp=2200)
    shop.billing.credit(bruno.number, reason="never came")
    owed = anna.total_cents + note.total_cents  # the note's total is negative: 12.20 back

    # Anna pays exactly what is left, naming herself only: matched by amount and name.
    import_bank_file(shop.billing, camt053([Entry(owed, "Anna", text="saldo ottobre")]))

    late = date(2026, 12, 20)
    states = payments_of(shop.billing, list(october.values()), late)
    assert (states[anna.id].state, states[anna.id].paid_cents) == (PaymentState.PAID, owed)
    assert states[anna.id].credited_cents == -note.total_cents
    assert states[anna.id].open_cents(anna.total_cents) == 0
    # Credited in full, bruno owes nothing: paid, never overdue.
    assert states[bruno.id].state is PaymentState.PAID
    assert states[october["carla"].id].state is PaymentState.OVERDUE
    [payment] = shop.billing.ledger.payments()
    assert payment.statement_id == anna.id and payment.matched_by is not None


def _scheduler(shop: Shop, port: int) -> StatementScheduler:
    smtp = SmtpSettings(
        host="127.0.0.1", port=port, security=SmtpSecurity.NONE, sender="cassa@officina.example"
    )
    settings = replace(
        shop.billing.settings,
        schedule=ScheduleSettings(remind_every_days=7, send=False, first_month="2026-10"),
        smtp=smtp,
    )
    billing = Billing(shop.billing.ledger, settings, terminal=False)
    return StatementScheduler(billing, mailer=Mailer(smtp, settings.workshop), clock=shop.clock)


def test_the_scheduler_reminds_each_overdue_statement_once_per_interval(
    shop: Shop, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    october = issue_october(shop)
    anna, bruno, carla = october["anna"], october["bruno"], october["carla"]
    assert anna.number and bruno.number and carla.number
    shop.billing.credit(bruno.number, reason="never came")
    reference = creditor_reference(anna.number)
    import_bank_file(shop.billing, camt053([Entry(anna.total_cents, "A", reference=reference)]))
    ticks = _scheduler(shop, port)

    shop.clock.now = rome(2026, 12, 2, 9)  # the due day itself: nobody is late yet
    assert ticks.tick().reminded == ()
    shop.clock.now = rome(2026, 12, 3, 9)
    assert ticks.tick().reminded == (carla.number,)
    # The same day again, and a fresh scheduler after a restart: the ledger says she was told.
    assert ticks.tick().reminded == ()
    assert _scheduler(shop, port).tick().reminded == ()
    shop.clock.now = rome(2026, 12, 9, 9)
    assert ticks.tick().reminded == ()
    shop.clock.now = rome(2026, 12, 10, 9)
    assert ticks.tick().reminded == (carla.number,)

    assert [m["Subject"].split(" · ")[1] for m in inbox.messages] == [carla.number] * 2
    assert all(m["To"].endswith("<carla@example.org>") for m in inbox.messages)


def test_a_scheduler_set_to_remind_never_sends_no_reminder(
    shop: Shop, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    issue_october(shop)
    ticks = _scheduler(shop, port)
    ticks.schedule = replace(ticks.schedule, remind_every_days=0)
    shop.clock.now = rome(2026, 12, 20, 9)
    assert ticks.tick().reminded == ()
    assert inbox.messages == []
