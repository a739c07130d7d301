"""Monthly statements of a customer's account, from the postings' running balances, and their issue at month end."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.customers import service as customers_service
from core_banking.history import repository as history_repository
from core_banking.history import service as history_service
from core_banking.ledger.periods import Month, bank_day
from core_banking.statements import repository
from core_banking.statements.errors import StatementMonthNotOver, StatementPeriodNotStarted
from core_banking.statements.schemas import Statement
from obank.actor import Actor
from obank.crypto import KeyRing
from obank.unit_of_work import UnitOfWork

_MICROSECOND = timedelta(microseconds=1)
# Published once per account and month when its statement is ready, for the holder to be told.
STATEMENTS_TOPIC = "core_banking.statements"
STATEMENT_READY = "statement.ready"
ISSUE_ACTOR = Actor.system("core_banking.statements")


@dataclass(frozen=True, slots=True)
class Period:
    """The part [start, end) of a month a statement covers: the whole month, to date, or within bounds."""

    month: Month
    start: datetime
    end: datetime

    @classmethod
    def of(
        cls, month: Month, now: datetime, *, not_before: datetime | None = None, not_after: datetime | None = None
    ) -> Period | None:
        """The month to date, within [not_before, not_after] when given; None when nothing of it remains."""
        start = max(month.starts_at, not_before) if not_before is not None else month.starts_at
        end = min(month.ends_at, now)
        if not_after is not None:
            end = min(end, not_after + _MICROSECOND)
        return cls(month, start, end) if start < end else None


@dataclass(frozen=True, slots=True)
class StatementTotals:
    """A statement's figures without its lines: what a list of statements shows."""

    period: Period
    opening_balance_minor: int
    closing_balance_minor: int
    paid_in_minor: int
    paid_out_minor: int


async def monthly_statement(
    session: AsyncSession,
    keyring: KeyRing,
    customer_id: uuid.UUID,
    account_id: uuid.UUID,
    month: Month,
    *,
    now: datetime | None = None,
) -> Statement:
    """The statement of the customer's account for `month` (to date when it is the current month)."""
    now = now or datetime.now(UTC)
    if month.first_day > bank_day(now):
        raise StatementPeriodNotStarted(month)
    period = Period(month, month.starts_at, min(month.ends_at, now))
    return await statement_for(session, keyring, customer_id, account_id, period, now=now)


async def statement_for(
    session: AsyncSession,
    keyring: KeyRing,
    customer_id: uuid.UUID,
    account_id: uuid.UUID,
    period: Period,
    *,
    now: datetime,
) -> Statement:
    """The statement of the customer's account over `period`: opening balance, every line, closing balance."""
    account = await history_service.owned_account(session, customer_id, account_id)
    opening = await history_repository.booked_balance_at(session, account_id, period.start, inclusive=False)
    lines = await history_repository.lines_between(session, account_id, period.start, period.end)
    holder = await customers_service.get_customer(session, keyring, customer_id)
    return Statement(
        account=account,
        holder_name=holder.full_name,
        holder_address=holder.address,
        month=period.month,
        period_start=bank_day(period.start),
        period_end=max(bank_day(period.start), bank_day(period.end - _MICROSECOND)),
        opening_balance_minor=opening,
        closing_balance_minor=lines[-1].balance_after_minor if lines else opening,
        lines=lines,
        generated_at=now,
    )


async def statement_totals(session: AsyncSession, account_id: uuid.UUID, period: Period) -> StatementTotals:
    """The opening and closing balances and the money paid in and out over `period`."""
    opening = await history_repository.booked_balance_at(session, account_id, period.start, inclusive=False)
    closing = await history_repository.booked_balance_at(session, account_id, period.end, inclusive=False)
    paid_in, paid_out = await history_repository.totals_between(session, account_id, period.start, period.end)
    return StatementTotals(period, opening, closing, paid_in, paid_out)


async def issue_statements(uow: UnitOfWork, month: Month, *, now: datetime, batch_size: int) -> tuple[int, int]:
    """Issue `month`'s statement of up to `batch_size` accounts owed one, in the caller's transaction.

    Each issue is recorded once per account and month (a concurrent run's issues are skipped), and published
    as `statement.ready` with its audit record. Returns (accounts looked at, statements issued).
    """
    if month.ends_at > now:
        raise StatementMonthNotOver(month)
    period = Period(month, month.starts_at, month.ends_at)
    owed = await repository.accounts_owed(uow.session, month.first_day, period.start, period.end, limit=batch_size)
    issued = 0
    for account in owed:
        totals = await statement_totals(uow.session, account.account_id, period)
        if not await repository.record_issue(
            uow.session, account.account_id, month.first_day, totals.closing_balance_minor, account.currency, now
        ):
            continue
        payload = {
            "account_id": str(account.account_id),
            "customer_id": str(account.customer_id),
            "month": str(month),
            "currency": account.currency,
            "opening_balance_minor": totals.opening_balance_minor,
            "closing_balance_minor": totals.closing_balance_minor,
            "paid_in_minor": totals.paid_in_minor,
            "paid_out_minor": totals.paid_out_minor,
        }
        uow.publish(topic=STATEMENTS_TOPIC, event_type=STATEMENT_READY, key=str(account.account_id), payload=payload)
        uow.audit(action="statement.issued", entity_type="account", entity_id=str(account.account_id), after=payload)
        issued += 1
    return len(owed), issued
