"""The scheduler: drafts after month end, catch-up after downtime, issue after review, e-mail."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from services.billing.allocation import AllocationKey, CostPool
from services.billing.mailer import Mailer
from services.billing.months import Month
from services.billing.records import StatementStatus
from services.billing.scheduler import StatementScheduler
from services.billing.service import Billing
from services.billing.settings import ScheduleSettings, SmtpSecurity, SmtpSettings
from services.billing.tariffs import Tariff
from tests.billing.conftest import Inbox, Shop, book, join
from tests.billing.examples import LASER, SITE, rome

AUGUST, SEPTEMBER, OCTOBER = Month(2026, 8), Month(2026, 9), Month(2026, 10)


def scheduler(
    shop: Shop, *, review_days: int | None = 3, port: int | None = None
) -> StatementScheduler:
    smtp = None
    if port is not None:
        smtp = SmtpSettings(
            host="127.0.0.1", port=port, security=SmtpSecurity.NONE, sender="cassa@officina.example"
        )
    settings = replace(
        shop.billing.settings, schedule=ScheduleSettings(review_days=review_days), smtp=smtp
    )
    billing = Billing(shop.billing.ledger, settings, terminal=False)
    mailer = Mailer(smtp, settings.workshop) if smtp is not None else None
    return StatementScheduler(billing, mailer=mailer, clock=shop.clock)


def three_months_of_work(shop: Shop) -> None:
    shop.billing.ledger.add_tariff(
        Tariff(valid_from=date(2026, 1, 1), site=SITE, machine=LASER, per_running_minute=500_000)
    )
    join(shop, "anna")
    join(shop, "bruno")
    for month in (8, 9, 10):
        book(shop, "anna", rome(2026, month, 10, 9), minutes=60)
        book(shop, "bruno", rome(2026, month, 11, 9), minutes=30)


def statuses(shop: Shop, month: Month) -> list[tuple[str, str | None]]:
    return [(s.status.value, s.number) for s in shop.billing.ledger.statements(month)]


def test_a_scheduler_that_was_down_catches_up_every_missed_month_once(shop: Shop) -> None:
    three_months_of_work(shop)
    shop.clock.now = rome(2026, 11, 1, 5, 59)  # a minute before October's run time
    ticks = scheduler(shop)
    assert ticks.tick().drafted == (AUGUST, SEPTEMBER)
    assert ticks.tick().drafted == ()
    shop.clock.now = rome(2026, 11, 1, 6, 0)
    assert ticks.tick().drafted == (OCTOBER,)
    assert ticks.tick().drafted == ()
    for month in (AUGUST, SEPTEMBER, OCTOBER):
        assert statuses(shop, month) == [("draft", None), ("draft", None)]
    assert ticks.next_run(shop.clock.now) == rome(2026, 12, 1, 6, 0)


def test_drafts_are_issued_by_themselves_once_the_review_window_is_over(shop: Shop) -> None:
    three_months_of_work(shop)
    shop.clock.now = rome(2026, 11, 1, 6, 0)
    ticks = scheduler(shop, review_days=3)
    ticks.tick()
    shop.clock.now = rome(2026, 11, 4, 5, 59)
    assert ticks.tick().issued == ()
    shop.clock.now = rome(2026, 11, 4, 6, 0)
    assert ticks.tick().issued == (AUGUST, SEPTEMBER, OCTOBER)
    assert statuses(shop, AUGUST) == [("issued", "2026/0001"), ("issued", "2026/0002")]
    assert statuses(shop, OCTOBER) == [("issued", "2026/0005"), ("issued", "2026/0006")]
    assert ticks.tick() == type(ticks.tick())()  # nothing left to do


def test_without_a_review_window_drafts_wait_for_the_treasurer(shop: Shop) -> None:
    three_months_of_work(shop)
    shop.clock.now = rome(2027, 2, 1, 6, 0)
    ticks = scheduler(shop, review_days=None)
    ticks.tick()
    assert {s.status for s in shop.billing.ledger.statements(OCTOBER)} == {StatementStatus.DRAFT}


def test_a_month_that_fails_is_logged_and_tried_again_without_holding_up_the_others(
    shop: Shop,
) -> None:
    three_months_of_work(shop)
    # Nobody ran the lathe in September, and the pool has no second key: it cannot be split.
    shop.billing.ledger.add_pool(
        SEPTEMBER,
        CostPool(
            name="lathe service",
            total_cents=9_000,
            key=AllocationKey.RUNNING_HOURS,
            machines=((SITE, "lathe-1"),),
        ),
    )
    shop.clock.now = rome(2026, 11, 1, 6, 0)
    ticks = scheduler(shop, review_days=None)
    report = ticks.tick()
    assert report.drafted == (AUGUST, OCTOBER)
    assert report.failures == (
        "2026-09: cost pool 'lathe service': nobody has any running hours this month;"
        " give it a remainder key",
    )
    assert [(r.step, r.outcome) for r in shop.billing.ledger.runs(SEPTEMBER)] == [
        ("draft", "failed")
    ]
    shop.billing.ledger.remove_pool(SEPTEMBER, "lathe service")
    assert ticks.tick().drafted == (SEPTEMBER,)


def test_issued_statements_are_emailed_by_the_scheduler_once(
    shop: Shop, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    three_months_of_work(shop)
    shop.clock.now = rome(2026, 11, 1, 6, 0)
    ticks = scheduler(shop, review_days=0, port=port)
    report = ticks.tick()
    assert (report.issued, report.sent) == ((AUGUST, SEPTEMBER, OCTOBER), 6)
    assert ticks.tick().sent == 0
    assert sorted(m["Subject"].split()[2] for m in inbox.messages) == [
        f"2026/{n:04d}" for n in range(1, 7)
    ]
