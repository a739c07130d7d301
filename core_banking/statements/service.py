"""Monthly statements of a customer's account, from the postings' running balances."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.customers import service as customers_service
from core_banking.history import repository as history_repository
from core_banking.history import service as history_service
from core_banking.ledger.periods import Month, bank_day
from core_banking.statements.errors import StatementPeriodNotStarted
from core_banking.statements.schemas import Statement
from obank.crypto import KeyRing


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
    account = await history_service.owned_account(session, customer_id, account_id)
    now = now or datetime.now(UTC)
    today = bank_day(now)
    if month.first_day > today:
        raise StatementPeriodNotStarted(month)
    end = min(month.ends_at, now)
    opening = await history_repository.booked_balance_at(session, account_id, month.starts_at, inclusive=False)
    lines = await history_repository.lines_between(session, account_id, month.starts_at, end)
    holder = await customers_service.get_customer(session, keyring, customer_id)
    return Statement(
        account=account,
        holder_name=holder.full_name,
        holder_address=holder.address,
        month=month,
        period_start=month.first_day,
        period_end=min(month.last_day, today),
        opening_balance_minor=opening,
        closing_balance_minor=lines[-1].balance_after_minor if lines else opening,
        lines=lines,
        generated_at=now,
    )
