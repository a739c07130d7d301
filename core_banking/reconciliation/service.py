"""Reconciliation: check the book of record against itself, record the run, raise an event on a discrepancy.

Every check reads the same snapshot: run `reconcile` in a REPEATABLE READ transaction (see
`core_banking.jobs.run_daily_reconciliation`), so transfers committed meanwhile cannot look like errors.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.reconciliation import repository
from core_banking.reconciliation.models import ReconciliationRun
from core_banking.reconciliation.schemas import Discrepancy, ReconciliationReport
from obank.actor import Actor
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.reconciliation"
RECONCILIATION_ACTOR = Actor.system("core_banking.reconciliation")
# Enough to investigate from; the full count is always recorded.
MAX_RECORDED_DISCREPANCIES = 1_000


async def reconcile(session: AsyncSession, *, trigger: str, now: datetime | None = None) -> ReconciliationReport:
    """Run every check (`repository.CHECKS`) and report what fails; changes nothing."""
    started_at = now or datetime.now(UTC)
    discrepancies = [
        Discrepancy(check, subject, detail)
        for check in repository.CHECKS
        for subject, detail in await repository.violations(session, check)
    ]
    accounts, entries, holds = await repository.counts(session)
    return ReconciliationReport(
        id=uuid.uuid4(),
        trigger=trigger,
        started_at=started_at,
        finished_at=max(started_at, datetime.now(UTC)),
        accounts_checked=accounts,
        entries_checked=entries,
        holds_checked=holds,
        discrepancies=discrepancies,
    )


async def record_run(uow: UnitOfWork, report: ReconciliationReport) -> None:
    """Keep the run; a run with discrepancies also raises `reconciliation.discrepancies_found`."""
    summary = {
        "run_id": str(report.id),
        "trigger": report.trigger,
        "accounts_checked": report.accounts_checked,
        "entries_checked": report.entries_checked,
        "holds_checked": report.holds_checked,
        "discrepancy_count": len(report.discrepancies),
    }
    await repository.add_run(
        uow.session,
        ReconciliationRun(
            id=report.id,
            trigger=report.trigger,
            started_at=report.started_at,
            finished_at=report.finished_at,
            accounts_checked=report.accounts_checked,
            entries_checked=report.entries_checked,
            holds_checked=report.holds_checked,
            discrepancy_count=len(report.discrepancies),
            discrepancies=[d.as_dict() for d in report.discrepancies[:MAX_RECORDED_DISCREPANCIES]],
        ),
    )
    if not report.clean:
        checks = sorted({d.check for d in report.discrepancies})
        uow.publish(
            topic=TOPIC,
            event_type="reconciliation.discrepancies_found",
            key=str(report.id),
            payload={**summary, "checks": checks},
        )
    uow.audit(action="reconciliation.run", entity_type="reconciliation_run", entity_id=str(report.id), after=summary)
