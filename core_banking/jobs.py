"""core_banking's periodic jobs, for `obank.scheduler` to run in `obank serve` and `obank worker` (and the CLI).

Each takes the platform and runs its own units of work, so a crash part-way loses nothing that was
committed and a rerun carries on: accruals, postings, expiries, lapses and statement issues are idempotent
by construction. The scheduled entry points at the end take the due time they run for and catch up on
everything outstanding up to it, since the scheduler folds due times missed while it was stopped into one.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

from audit.trail import platform_units
from core_banking.consents import service as consents_service
from core_banking.consents.models import ConsentStatus
from core_banking.idempotency import service as idempotency_service
from core_banking.interest import service as interest_service
from core_banking.interest.schemas import AccrualRun, InterestPostingRecord, PostingCandidate
from core_banking.ledger import service as ledger_service
from core_banking.ledger.periods import Month, bank_day
from core_banking.payment_orders import service as payment_orders_service
from core_banking.payments import service as payments_service
from core_banking.reconciliation import service as reconciliation_service
from core_banking.reconciliation.schemas import ReconciliationReport
from core_banking.statements import service as statements_service
from obank.actor import Actor
from obank.database import unit_of_work
from obank.log import get_logger
from obank.outbox.relay import sleep_unless_stopped
from obank.runtime import Platform
from obank.scheduler.registry import RunResult
from obank.unit_of_work import UnitOfWork, UnitsOfWork

HOLD_EXPIRY_BATCH = 500
CONSENT_LAPSE_BATCH = 200
PAYMENT_CHASE_BATCH = 100
STATEMENT_BATCH = 200
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
    """Ask the scheme about payments it has not answered in time, or reject them after the last request; reject
    payments held for a confirmation their customer did not give in time."""
    timing = scheme_timing(platform)
    total = 0
    while True:
        async with platform_units(platform).begin(PAYMENTS_CHASE_ACTOR) as uow:
            chased = await payments_service.chase_overdue(uow, timing, now=now, batch_size=PAYMENT_CHASE_BATCH)
            chased += await payments_service.reject_unconfirmed(uow, now=now, batch_size=PAYMENT_CHASE_BATCH)
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
    return payment_orders_service.RetryPolicy(times=tuple(settings.payment_orders_retry_times))


async def run_due_payment_orders(platform: Platform, *, now: datetime | None = None) -> int:
    """Run every due occurrence of scheduled payments and standing orders, each in its own transaction."""
    retry = order_retry_policy(platform)
    cooling_off = payments_service.CoolingOff.from_settings(platform.settings)
    ran = 0
    while True:
        async with platform_units(platform).begin(PAYMENT_ORDERS_ACTOR) as uow:
            if not await payment_orders_service.run_next_due(uow, retry, now=now, cooling_off=cooling_off):
                return ran
        ran += 1


async def issue_monthly_statements(
    platform: Platform, month: Month | None = None, *, now: datetime | None = None
) -> int:
    """Issue a finished month's statements (default: last month), a batch of accounts per transaction;
    returns how many were issued. A repeated or concurrent run issues none twice."""
    now = now or datetime.now(UTC)
    month = month or Month.of(bank_day(now)).previous()

    async def issue(uow: UnitOfWork) -> tuple[int, int]:
        return await statements_service.issue_statements(uow, month, now=now, batch_size=STATEMENT_BATCH)

    issued = 0
    while True:
        looked, count = await platform_units(platform).retry(statements_service.ISSUE_ACTOR, issue)
        issued += count
        if looked < STATEMENT_BATCH:
            if issued:
                _log.info("statements_issued", count=issued)
            return issued


# Scheduled entry points (`obank.scheduler.registry.Job.run`): each does the work of one due time and reports
# a few counts. Sweeps act on everything due by the moment they run; calendar jobs on the period before
# their due time.


async def hold_expiry(platform: Platform, due_at: datetime) -> RunResult:
    """Release every hold past its expiry."""
    return {"expired": await expire_holds(platform)}


async def consent_lapses(platform: Platform, due_at: datetime) -> RunResult:
    """Write the end of every consent whose time ran out."""
    return {"lapsed": await lapse_consents(platform)}


async def payment_order_sweep(platform: Platform, due_at: datetime) -> RunResult:
    """Pay every due occurrence of scheduled payments and standing orders (each once, by its own key)."""
    return {"occurrences": await run_due_payment_orders(platform)}


async def daily_interest_accrual(platform: Platform, due_at: datetime) -> RunResult:
    """Accrue the bank day before `due_at`'s, and any earlier day of its month left unaccrued."""
    yesterday = _yesterday(due_at)
    days = [day for day in Month.of(yesterday).days() if day <= yesterday]
    runs = [await accrue_interest_for_day(platform, day) for day in days]
    return {"days": len(runs), "accounts": sum(run.accounts for run in runs)}


async def monthly_interest_posting(platform: Platform, due_at: datetime) -> RunResult:
    """Pay the interest of the month before `due_at`'s (and of any earlier month left unpaid)."""
    posted = await post_monthly_interest(platform, Month.of(bank_day(due_at)).previous())
    return {"postings": len(posted)}


async def daily_reconciliation(platform: Platform, due_at: datetime) -> RunResult:
    """Reconcile the whole ledger as it stands."""
    report = await run_daily_reconciliation(platform)
    return {"accounts": report.accounts_checked, "discrepancies": len(report.discrepancies)}


async def idempotency_key_purge(platform: Platform, due_at: datetime) -> RunResult:
    """Forget idempotency keys past their retention."""
    async with unit_of_work(platform.sessions) as session:
        purged = await idempotency_service.purge_expired_keys(session)
    return {"purged": purged}


async def month_end_statements(platform: Platform, due_at: datetime) -> RunResult:
    """Issue the statements of the month before `due_at`'s."""
    return {"issued": await issue_monthly_statements(platform, Month.of(bank_day(due_at)).previous())}
