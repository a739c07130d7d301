"""A customer's view of their accounts: the accounts, balances now or at a past moment, and history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.schemas import AccountRecord, Balances
from core_banking.history import repository
from core_banking.history.cursor import decode_cursor, encode_cursor
from core_banking.history.errors import InvalidFilter, MomentInFuture
from core_banking.history.schemas import BalancesAt, TransactionFilter, TransactionPage
from core_banking.ledger.periods import Month, day_start
from obank.crypto import KeyRing
from obank.money import Money


async def owned_account(session: AsyncSession, customer_id: uuid.UUID, account_id: uuid.UUID) -> AccountRecord:
    """The customer's account; another's (or one of the bank's own) is not found, as if it did not exist."""
    account = await accounts_service.get_account(session, account_id)
    if account.customer_id != customer_id:
        raise AccountNotFound(account_id)
    return account


async def list_accounts(session: AsyncSession, customer_id: uuid.UUID) -> list[AccountRecord]:
    """Every account of the customer, oldest first, closed ones included."""
    return await accounts_service.list_customer_accounts(session, customer_id)


async def balances_at(
    session: AsyncSession,
    customer_id: uuid.UUID,
    account_id: uuid.UUID,
    as_of: datetime | None = None,
    *,
    now: datetime | None = None,
) -> BalancesAt:
    """Balances now, or at a past moment from the postings and holds of that moment.

    A past available balance uses today's overdraft limit: limit changes are audited, not versioned.
    """
    account = await owned_account(session, customer_id, account_id)
    now = now or datetime.now(UTC)
    if as_of is None:
        return BalancesAt(account_id, now, account.balances)
    if as_of > now:
        raise MomentInFuture(f"as_of {as_of.isoformat()} is after now ({now.isoformat()})")
    booked = await repository.booked_balance_at(session, account_id, as_of, inclusive=True)
    held = await repository.held_at(session, account_id, as_of)
    currency = account.currency
    balances = Balances(
        booked=Money(booked, currency),
        available=Money(booked + account.overdraft_limit_minor - held, currency),
        pending=Money(held, currency),
    )
    return BalancesAt(account_id, as_of, balances)


def booking_window(
    month: Month | None, from_date: date | None, to_date: date | None
) -> tuple[datetime | None, datetime | None]:
    """[start, end) of the bank days asked for: a month, an inclusive date range, or both (their overlap)."""
    if from_date is not None and to_date is not None and from_date > to_date:
        raise InvalidFilter(f"from_date {from_date} is after to_date {to_date}")
    starts, ends = [], []
    if month is not None:
        starts.append(month.starts_at)
        ends.append(month.ends_at)
    if from_date is not None:
        starts.append(day_start(from_date))
    if to_date is not None:
        ends.append(day_start(to_date + timedelta(days=1)))
    return (max(starts) if starts else None), (min(ends) if ends else None)


async def transactions(
    session: AsyncSession,
    keyring: KeyRing,
    customer_id: uuid.UUID,
    account_id: uuid.UUID,
    lines: TransactionFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> TransactionPage:
    """One page of the account's lines, newest first, each with the balance just after it."""
    await owned_account(session, customer_id, account_id)
    if (
        lines.min_amount_minor is not None
        and lines.max_amount_minor is not None
        and lines.min_amount_minor > lines.max_amount_minor
    ):
        raise InvalidFilter("min_amount_minor exceeds max_amount_minor")
    position = None if cursor is None else decode_cursor(keyring, account_id, cursor)
    found = await repository.lines_before(session, account_id, lines, position, limit + 1)
    page, more = found[:limit], len(found) > limit
    last = page[-1] if page else None
    next_cursor = encode_cursor(keyring, account_id, last.booked_at, last.posting_id) if more and last else None
    return TransactionPage(lines=page, next_cursor=next_cursor)
