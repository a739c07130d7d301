"""core_banking's periodic jobs, for `obank serve` and `obank worker` to schedule (and the CLI to run).

Each takes the platform and runs its own units of work, so a crash part-way loses nothing that was
committed and a rerun carries on: accruals, postings and expiries are idempotent by construction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.interest import service as interest_service
from core_banking.interest.schemas import AccrualRun, InterestPostingRecord, PostingCandidate
from core_banking.ledger import service as ledger_service
from core_banking.ledger.periods import Month, bank_day
from core_banking.reconciliation import service as reconciliation_service
from core_banking.reconciliation.schemas import ReconciliationReport
from obank.database import retry_serializable, unit_of_work
from obank.log import get_logger
from obank.runtime import Platform

HOLD_EXPIRY_BATCH = 500
_log = get_logger("core_banking.jobs")


async def run_daily_reconciliation(platform: Platform, *, trigger: str = "schedule") -> ReconciliationReport:
    """Check the whole ledger on one snapshot, record the run, raise an event if anything is wrong."""
    async with unit_of_work(platform.sessions) as session:
        # One snapshot for every check (read-only, so REPEATABLE READ never fails to serialize).
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        report = await reconciliation_service.reconcile(session, trigger=trigger)
    async with unit_of_work(platform.sessions) as session:
        await reconciliation_service.record_run(session, platform.keyring, report)
    if report.clean:
        _log.info("reconciliation_clean", run_id=str(report.id), accounts=report.accounts_checked)
    else:
        _log.error(
            "reconciliation_discrepancies",
            run_id=str(report.id),
            count=len(report.discrepancies),
            checks=sorted({d.check for d in report.discrepancies}),
        )
    return report


def _yesterday(now: datetime) -> date:
    return bank_day(now) - timedelta(days=1)


async def accrue_interest_for_day(
    platform: Platform, day: date | None = None, *, now: datetime | None = None
) -> AccrualRun:
    """Accrue savings interest for a finished bank day (default: yesterday); a repeat accrues nothing."""
    now = now or datetime.now(UTC)
    accrual_day = day or _yesterday(now)

    async def accrue(session: AsyncSession) -> AccrualRun:
        return await interest_service.accrue_for_day(session, platform.keyring, accrual_day, now=now)

    return await retry_serializable(platform.sessions, accrue)


async def post_monthly_interest(
    platform: Platform, month: Month | None = None, *, now: datetime | None = None
) -> list[InterestPostingRecord]:
    """Pay a finished month's interest (default: last month), after any earlier month left unpaid.

    Accrues every day of the month first (days already accrued are skipped), then pays each account
    in a transaction of its own; a repeated or concurrent run pays nothing twice.
    """
    now = now or datetime.now(UTC)
    month = month or Month.of(bank_day(now)).previous()
    interest_service.require_month_over(month, now)
    for day in month.days():
        await accrue_interest_for_day(platform, day, now=now)
    async with unit_of_work(platform.sessions) as session:
        pending = await interest_service.earliest_unpaid_month(session, month)
    posted: list[InterestPostingRecord] = []
    while pending <= month:
        async with unit_of_work(platform.sessions) as session:
            candidates = await interest_service.posting_candidates(session, pending)
        expense_accounts = {}
        for currency in sorted({candidate.currency for candidate in candidates}):
            async with unit_of_work(platform.sessions) as session:
                expense_accounts[currency] = await interest_service.ensure_interest_expense_account(
                    session, platform.keyring, currency, now=now
                )
        for candidate in candidates:
            record = await _pay_interest(platform, candidate, pending, expense_accounts[candidate.currency], now)
            if record is not None:
                posted.append(record)
        pending = pending.next()
    return posted


async def _pay_interest(
    platform: Platform, candidate: PostingCandidate, month: Month, expense_account_id: uuid.UUID, now: datetime
) -> InterestPostingRecord | None:
    async def pay(session: AsyncSession) -> InterestPostingRecord | None:
        return await interest_service.post_interest(
            session, platform.keyring, candidate, month, expense_account_id, now=now
        )

    return await retry_serializable(platform.sessions, pay)


async def expire_holds(platform: Platform, *, now: datetime | None = None) -> int:
    """Release every open hold past its expiry, a batch per transaction; returns how many."""
    now = now or datetime.now(UTC)
    expired = 0
    while True:
        async with unit_of_work(platform.sessions) as session:
            batch = await ledger_service.expire_holds(session, platform.keyring, now, batch_size=HOLD_EXPIRY_BATCH)
        expired += len(batch)
        if len(batch) < HOLD_EXPIRY_BATCH:
            return expired
