"""The monthly run by itself: drafts after month end, issue after review, e-mail, catch-up.

A tick looks at every month from the first to bill up to the last one closed, and does what is
due: drafts for a month whose run time has come (the 1st at 06:00 Europe/Rome by default) and
that has none yet, issue once the review window has passed (if one is set), e-mail whatever is
issued and unsent, and remind the members of overdue statements (once a week by default).
Every step is safe to repeat: a month is drafted once (run log), statements
are unique per member and month, and issuing is one transaction. A tick that crashes halfway
is simply done again by the next. Given a projector, the scheduler also writes this month's
projected pool shares to InfluxDB, at start and every `every_s` (an hour by default).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.billing.errors import BillingError
from services.billing.mailer import Mailer
from services.billing.months import Month
from services.billing.payments import send_reminders
from services.billing.projection import PoolProjector, ProjectionReport
from services.billing.service import Billing, Step

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did."""

    drafted: tuple[Month, ...] = ()
    issued: tuple[Month, ...] = ()
    sent: int = 0
    failures: tuple[str, ...] = field(default_factory=tuple)
    reminded: tuple[str, ...] = ()


class StatementScheduler:
    """Runs billing's monthly steps when they are due."""

    def __init__(
        self,
        billing: Billing,
        *,
        mailer: Mailer | None = None,
        projector: PoolProjector | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.billing = billing
        self.mailer = mailer
        self.projector = projector
        self._clock = clock
        self.schedule = billing.settings.schedule

    def run_time(self, month: Month) -> datetime:
        """When a month's drafts are due: the schedule's day and time of the following month."""
        following = month.next()
        local = datetime(
            following.year,
            following.month,
            self.schedule.day,
            self.schedule.at.hour,
            self.schedule.at.minute,
            tzinfo=self.billing.tz,
        )
        return local.astimezone(UTC)

    def first_month(self) -> Month | None:
        """The first month to bill: from the settings, else the month of the first session."""
        if self.schedule.first_month is not None:
            return Month.parse(self.schedule.first_month)
        first = self.billing.ledger.first_session_day()
        if first is None:
            return None
        return Month.of(first.astimezone(self.billing.tz).date())

    def due_months(self, now: datetime) -> list[Month]:
        """Every month from the first whose run time has come, oldest first."""
        first = self.first_month()
        if first is None:
            return []
        last = Month.of(now.astimezone(self.billing.tz).date()).previous()
        return [month for month in first.until(last) if self.run_time(month) <= now]

    def next_run(self, now: datetime) -> datetime:
        """When the next month's drafts fall due, after `now`."""
        month = Month.of(now.astimezone(self.billing.tz).date()).previous()
        while self.run_time(month) <= now:
            month = month.next()
        return self.run_time(month)

    def tick(self) -> TickReport:
        """Do whatever is due now; failures are logged in the run log and reported, not raised."""
        now = self._clock()
        drafted: list[Month] = []
        issued: list[Month] = []
        failures: list[str] = []
        months = self.due_months(now)
        done = {
            (run.month, run.step) for run in self.billing.ledger.runs() if run.outcome == "done"
        }
        for month in months:
            try:
                if (str(month), Step.DRAFT) not in done:
                    self.billing.make_drafts(month)
                    drafted.append(month)
                if self._review_over(month, now) and self.billing.issue(month):
                    issued.append(month)
            except BillingError as err:
                log.error("billing %s: %s", month, err)
                failures.append(f"{month}: {err}")
        sent = 0
        if self.mailer is not None and self.schedule.send:
            try:
                sent = len(self.billing.send(None, self.mailer).sent)
            except BillingError as err:
                log.error("e-mailing statements: %s", err)
                failures.append(f"mail: {err}")
        reminded = self._remind(now, failures)
        if drafted or issued or sent or reminded:
            log.info(
                "scheduler: drafted %s, issued %s, e-mailed %d, reminded %s",
                [str(m) for m in drafted],
                [str(m) for m in issued],
                sent,
                reminded,
            )
        return TickReport(tuple(drafted), tuple(issued), sent, tuple(failures), tuple(reminded))

    def _remind(self, now: datetime, failures: list[str]) -> list[str]:
        """Remind the members of overdue statements, each at most once per interval.

        The ledger records the day of each reminder the mail server took, so a tick repeated
        the same day, or a restart, never sends one twice.
        """
        every = self.schedule.remind_every_days
        if self.mailer is None or not every:
            return []
        today = now.astimezone(self.billing.tz).date()
        try:
            sent, failed = send_reminders(self.billing, self.mailer, today, every_days=every)
        except BillingError as err:
            log.error("reminding overdue statements: %s", err)
            failures.append(f"remind: {err}")
            return []
        failures.extend(f"remind {number}: not delivered" for number in failed)
        return sent

    def _review_over(self, month: Month, now: datetime) -> bool:
        review = self.schedule.review_days
        if review is None:
            return False
        drafts, _issued, oldest = self.billing.ledger.month_state(month)
        return drafts > 0 and oldest is not None and oldest + timedelta(days=review) <= now

    def project(self) -> ProjectionReport | None:
        """Write this month's projected pool shares, if there is a projector; failures logged."""
        if self.projector is None:
            return None
        try:
            return self.projector.project()
        except BillingError as err:
            log.error("projecting pool shares: %s", err)
            return None

    def run(self, stop: threading.Event, *, heartbeat: Path | None = None) -> None:
        """Tick now, then at each run time or poll interval, until `stop` is set.

        A heartbeat file, if given, is touched after every tick: a healthcheck that finds it
        older than two poll intervals knows the scheduler is stuck or gone.
        """
        log.info("statement scheduler started")
        next_projection = self._clock()
        while not stop.is_set():
            self.tick()
            if heartbeat is not None:
                heartbeat.touch()
            now = self._clock()
            wait = min((self.next_run(now) - now).total_seconds(), self.schedule.poll_s)
            if self.projector is not None:
                if now >= next_projection:
                    self.project()
                    next_projection = now + timedelta(seconds=self.projector.every_s)
                wait = min(wait, (next_projection - now).total_seconds())
            stop.wait(max(wait, 1.0))
        log.info("statement scheduler stopped")
