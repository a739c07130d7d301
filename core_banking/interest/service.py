"""Interest on savings accounts: accrue each bank day exactly, pay each month once as one journal entry.

Actual/365 on the day's closing balance (negative or zero balances earn nothing), at the account's
current rate. Accruals keep interest exactly (see `core_banking.interest.models`); a posting pays the
whole minor units of the month's accruals plus the remainder carried from the previous posting, and
carries the new remainder forward, so rounding never loses or invents money. The primary keys of the
accrual (account, day) and posting (account, month) tables make a repeated or concurrent run a no-op.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.models import InternalPurpose
from core_banking.interest import repository
from core_banking.interest.errors import DayNotOver, MonthNotOver
from core_banking.interest.models import UNITS_PER_MINOR
from core_banking.interest.schemas import AccrualRun, InterestPostingRecord, PostingCandidate
from core_banking.ledger import service as ledger_service
from core_banking.ledger.models import EntryKind
from core_banking.ledger.periods import Month, bank_day, day_start
from obank.actor import Actor
from obank.money import Money
from obank.unit_of_work import UnitOfWork

TOPIC = "core_banking.interest"
INTEREST_ACTOR = Actor.system("core_banking.interest")


def split_units(total_units: int) -> tuple[int, int]:
    """(whole minor units to pay, remainder to carry) of an exact interest amount."""
    return divmod(total_units, UNITS_PER_MINOR)


async def accrue_for_day(uow: UnitOfWork, day: date, *, now: datetime | None = None) -> AccrualRun:
    """Accrue one finished bank day for every earning savings account not yet accrued for it."""
    now = now or datetime.now(UTC)
    if day >= bank_day(now):
        raise DayNotOver(day)
    units = await repository.accrue_day(uow.session, day, day_start(day + timedelta(days=1)), now)
    run = AccrualRun(day=day, accounts=len(units), interest_units=sum(units))
    if run.accounts:
        payload = {"day": day.isoformat(), "accounts": run.accounts, "interest_units": str(run.interest_units)}
        uow.publish(topic=TOPIC, event_type="interest.accrued", key=day.isoformat(), payload=payload)
        uow.audit(
            action="interest.accrued", entity_type="interest_accrual_day", entity_id=day.isoformat(), after=payload
        )
    return run


def require_month_over(month: Month, now: datetime) -> None:
    if month.last_day >= bank_day(now):
        raise MonthNotOver(month)


async def earliest_unpaid_month(session: AsyncSession, month: Month) -> Month:
    """The first month, up to `month`, holding accruals not yet paid (`month` itself when none)."""
    day = await repository.earliest_unposted_accrual(session, month.ends_at.date())
    return month if day is None else min(Month.of(day), month)


async def posting_candidates(session: AsyncSession, month: Month) -> list[PostingCandidate]:
    """Accounts with accruals in `month` not yet paid, in account-id order."""
    return await repository.posting_candidates(session, month.first_day, month.next().first_day)


async def ensure_interest_expense_account(uow: UnitOfWork, currency: str, *, now: datetime | None = None) -> uuid.UUID:
    """The bank's interest expense account in `currency`, opened on first use; run it in its own transaction."""
    account = await accounts_service.ensure_internal_account(uow, InternalPurpose.INTEREST_EXPENSE, currency, now=now)
    return account.id


async def post_interest(
    uow: UnitOfWork,
    candidate: PostingCandidate,
    month: Month,
    expense_account_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> InterestPostingRecord | None:
    """Pay one account's interest for a finished month; None when it was paid already."""
    session = uow.session
    now = now or datetime.now(UTC)
    require_month_over(month, now)
    paid, carried_out = split_units(candidate.accrued_units + candidate.carried_in_units)
    claimed = await repository.claim_posting(
        session,
        candidate.account_id,
        month.first_day,
        accrued_units=candidate.accrued_units,
        carried_in_units=candidate.carried_in_units,
        paid_minor=paid,
        carried_out_units=carried_out,
        now=now,
    )
    if not claimed:
        return None
    entry_id = None
    if paid:
        entry = await ledger_service.post_transfer(
            session,
            expense_account_id,
            candidate.account_id,
            Money(paid, candidate.currency),
            description=f"Interest paid for {month.first_day:%B %Y}",
            reference=f"interest:{month}:{candidate.account_id}",
            kind=EntryKind.INTEREST,
            apply_limits=False,
            now=now,
        )
        entry_id = entry.id
        await repository.set_entry(session, candidate.account_id, month.first_day, entry.id)
    record = InterestPostingRecord(
        account_id=candidate.account_id,
        month=month,
        currency=candidate.currency,
        accrued_units=candidate.accrued_units,
        carried_in_units=candidate.carried_in_units,
        paid_minor=paid,
        carried_out_units=carried_out,
        entry_id=entry_id,
    )
    payload = {
        "account_id": str(record.account_id),
        "month": str(month),
        "paid_minor": paid,
        "currency": record.currency,
        "entry_id": None if entry_id is None else str(entry_id),
        "carried_out_units": str(carried_out),
    }
    uow.publish(topic=TOPIC, event_type="interest.posted", key=str(record.account_id), payload=payload)
    uow.audit(action="interest.posted", entity_type="account", entity_id=str(record.account_id), after=payload)
    return record
