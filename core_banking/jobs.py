"""core_banking's periodic jobs, for `obank serve` and `obank worker` to schedule (and the CLI to run).

Each takes the platform and runs its own units of work, so a crash part-way loses nothing that was
committed and a rerun carries on: accruals, postings, expiries and lapses are idempotent by construction.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from audit.trail import platform_units
from core_banking.consents import service as consents_service
from core_banking.consents.models import ConsentStatus
from core_banking.interest import service as interest_service
from core_banking.interest.schemas import AccrualRun, InterestPostingRecord, PostingCandidate
from core_banking.ledger import service as ledger_service
from core_banking.ledger.periods import Month, bank_day
from core_banking.payment_orders import service as payment_orders_service
from core_banking.payments import service as payments_service
from core_banking.reconciliation import service as reconciliation_service
from core_banking.reconciliation.schemas import ReconciliationReport
from obank.actor import Actor
from obank.database import unit_of_work
from obank.log import get_logger
from obank.outbox.relay import sleep_unless_stopped
from obank.runtime import Platform
from obank.unit_of_work import UnitOfWork, UnitsOfWork

HOLD_EXPIRY_BATCH = 500
CONSENT_LAPSE_BATCH = 200
PAYMENT_CHASE_BATCH = 100
PAYMENTS_CHASE_ACTOR = Actor.system("core_banking.payment-chase")
PAYMENT_ORDERS_ACTOR = Actor.system("core_banking.payment-orders")
_log = get_logger("core_banking.jobs")


async def run_daily_reconciliation(platform: Platform, *, trigger: str = "schedule") -> ReconciliationReport:
    """Check the whole ledger on one snapshot, record the run, raise an event if anything is wrong."""
    async with unit_of_work(platform.sessions) as session:
        # One snapshot for every check (read-only, so REPEATABLE READ never fails to serialize).
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        report = await reconciliation_service.reconcile(session, trigger=trigger)
    async with platform_units(platform).begin(reconciliation_service.RECONCILIATION_ACTOR) as uow:
        await reconciliation_service.record_run(uow, report)
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

    async def accrue(uow: UnitOfWork) -> AccrualRun:
        return await interest_service.accrue_for_day(uow, accrual_day, now=now)

    return await platform_units(platform).retry(interest_service.INTEREST_ACTOR, accrue)


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
    units = platform_units(platform)
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
            async with units.begin(interest_service.INTEREST_ACTOR) as uow:
                expense_accounts[currency] = await interest_service.ensure_interest_expense_account(
                    uow, currency, now=now
                )
        for candidate in candidates:
            record = await _pay_interest(units, candidate, pending, expense_accounts[candidate.currency], now)
            if record is not None:
                posted.append(record)
        pending = pending.next()
    return posted


async def _pay_interest(
    units: UnitsOfWork, candidate: PostingCandidate, month: Month, expense_account_id: uuid.UUID, now: datetime
) -> InterestPostingRecord | None:
    async def pay(uow: UnitOfWork) -> InterestPostingRecord | None:
        return await interest_service.post_interest(uow, candidate, month, expense_account_id, now=now)

    return await units.retry(interest_service.INTEREST_ACTOR, pay)


async def expire_holds(platform: Platform, *, now: datetime | None = None) -> int:
    """Release every open hold past its expiry, a batch per transaction; returns how many."""
    now = now or datetime.now(UTC)
    units = platform_units(platform)
    expired = 0
    while True:
        async with units.begin(ledger_service.HOLD_EXPIRY_ACTOR) as uow:
            batch = await ledger_service.expire_holds(uow, now, batch_size=HOLD_EXPIRY_BATCH)
        expired += len(batch)
        if len(batch) < HOLD_EXPIRY_BATCH:
            return expired


async def lapse_consents(platform: Platform, *, now: datetime | None = None) -> int:
    """Write the end of every consent whose time ran out (Expired, or unanswered and Rejected), a batch per
    transaction: its event, its audit record and, for an expired one, its deny-list entry; returns how many.

    Readers already saw each as ended from the instant it lapsed; this makes it durable and tells the others.
    """
    now = now or datetime.now(UTC)
    units = platform_units(platform)
    lapsed = 0
    while True:
        async with units.begin(consents_service.LAPSE_ACTOR) as uow:
            batch = await consents_service.lapse_consents(uow, now, batch_size=CONSENT_LAPSE_BATCH)
            for consent in batch:
                if consent.status is ConsentStatus.EXPIRED:  # before the commit, as every revoking process does
                    await platform.revocations.remember(*consents_service.denial(consent))
        lapsed += len(batch)
        if batch:
            _log.info("consents_lapsed", count=len(batch))
        if len(batch) < CONSENT_LAPSE_BATCH:
            return lapsed


def scheme_timing(platform: Platform) -> payments_service.SchemeTiming:
    settings = platform.settings
    return payments_service.SchemeTiming(
        answer_timeout=timedelta(seconds=settings.payments_scheme_answer_timeout_s),
        status_requests=settings.payments_status_requests,
        scheme_window=timedelta(seconds=settings.payments_scheme_window_s),
    )


async def chase_payments(platform: Platform, *, now: datetime | None = None) -> int:
    """Ask the scheme about payments it has not answered in time, or reject them after the last request."""
    timing = scheme_timing(platform)
    total = 0
    while True:
        async with platform_units(platform).begin(PAYMENTS_CHASE_ACTOR) as uow:
            chased = await payments_service.chase_overdue(uow, timing, now=now, batch_size=PAYMENT_CHASE_BATCH)
        total += chased
        if chased < PAYMENT_CHASE_BATCH:
            return total


async def run_payment_chase(platform: Platform, stop: asyncio.Event) -> None:
    """`chase_payments` every `payments_chase_interval_s` until `stop`; a failure is logged and retried."""
    while not stop.is_set():
        try:
            await chase_payments(platform)
        except Exception:
            _log.exception("payment_chase_failed")
        await sleep_unless_stopped(stop, platform.settings.payments_chase_interval_s)


def order_retry_policy(platform: Platform) -> payment_orders_service.RetryPolicy:
    settings = platform.settings
    return payment_orders_service.RetryPolicy(
        attempts=settings.payment_orders_attempts,
        interval=timedelta(seconds=settings.payment_orders_retry_interval_s),
    )


async def run_due_payment_orders(platform: Platform, *, now: datetime | None = None) -> int:
    """Run every due occurrence of scheduled payments and standing orders, each in its own transaction."""
    retry = order_retry_policy(platform)
    ran = 0
    while True:
        async with platform_units(platform).begin(PAYMENT_ORDERS_ACTOR) as uow:
            if not await payment_orders_service.run_next_due(uow, retry, now=now):
                return ran
        ran += 1


async def run_payment_orders(platform: Platform, stop: asyncio.Event) -> None:
    """`run_due_payment_orders` every `payment_orders_interval_s` until `stop`; safe with many replicas."""
    while not stop.is_set():
        try:
            await run_due_payment_orders(platform)
        except Exception:
            _log.exception("payment_orders_failed")
        await sleep_unless_stopped(stop, platform.settings.payment_orders_interval_s)
