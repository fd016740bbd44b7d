"""The run log: one row per step of a month's run (draft, issue, mail, credit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from services.billing.models import BillingRunRow
from services.billing.months import Month
from services.billing.store.base import StoreBase


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
    by: str | None = None


class RunLog(StoreBase):
    """Writes and reads `billing_runs`."""

    def start_run(self, month: Month, step: str, *, by: str | None = None) -> int:
        """Log that a step of a month's run began, and who asked for it; returns its id."""
        with self._transaction("run log") as db:
            row = BillingRunRow(
                month=str(month), step=step, started_at=self._clock(), outcome="running", by=by
            )
            db.add(row)
            db.flush()
            return row.id

    def finish_run(
        self, run_id: int, *, outcome: str, statements: int = 0, detail: str | None = None
    ) -> None:
        """Log how a step ended: done, failed (with why), or skipped."""
        with self._transaction("run log") as db:
            db.execute(
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
        with self._transaction("read the run log") as db:
            return [
                RunRecord(
                    row.month,
                    row.step,
                    row.outcome,
                    row.started_at,
                    row.finished_at,
                    row.statements,
                    row.detail,
                    row.by,
                )
                for row in db.scalars(query)
            ]
