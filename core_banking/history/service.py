"""A customer's view of their accounts: the accounts, balances now or at a past moment, and history."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts import service as accounts_service
from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.schemas import AccountRecord, Balances
from core_banking.history import repository
from core_banking.history.cursor import Position, decode_cursor, encode_cursor
from core_banking.history.errors import InvalidFilter, MomentInFuture
from core_banking.history.schemas import BalancesAt, TransactionFilter, TransactionLine, TransactionPage
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
    """One page of the account's lines, newest first, each with the balance just after it (and on the first
    page, the money held and not booked yet)."""
    await owned_account(session, customer_id, account_id)
    return await _account_history(session, keyring, account_id, lines, cursor=cursor, limit=limit)


async def account_transactions(
    session: AsyncSession,
    keyring: KeyRing,
    account_id: uuid.UUID,
    lines: TransactionFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> TransactionPage:
    """Staff's view of any account's history: the page its customer sees (same filters and cursors)."""
    await accounts_service.get_account(session, account_id)
    return await _account_history(session, keyring, account_id, lines, cursor=cursor, limit=limit)


async def _account_history(
    session: AsyncSession,
    keyring: KeyRing,
    account_id: uuid.UUID,
    lines: TransactionFilter,
    *,
    cursor: str | None,
    limit: int,
) -> TransactionPage:
    if (
        lines.min_amount_minor is not None
        and lines.max_amount_minor is not None
        and lines.min_amount_minor > lines.max_amount_minor
    ):
        raise InvalidFilter("min_amount_minor exceeds max_amount_minor")
    page = await page_of_lines(session, keyring, str(account_id), [account_id], lines, cursor=cursor, limit=limit)
    return TransactionPage(lines=page.lines, next_cursor=page.next_cursor, pending=page.pending)


def _at(line: TransactionLine, *, newer: bool = False) -> Position:
    return Position(line.booked_at, line.posting_id, newer=newer)


async def page_of_lines(
    session: AsyncSession,
    keyring: KeyRing,
    scope: str,
    account_ids: Sequence[uuid.UUID],
    lines: TransactionFilter,
    *,
    cursor: str | None,
    limit: int,
) -> TransactionPage:
    """One page of the accounts' lines, newest first, with cursors to the older and the newer pages.

    `scope` names the history the cursors belong to: a cursor issued for another scope is refused.
    """
    position = None if cursor is None else decode_cursor(keyring, scope, cursor)
    if position is not None and position.newer:
        found = await repository.lines_after(
            session, account_ids, lines, (position.booked_at, position.posting_id), limit + 1
        )
        page, newer_exist = list(reversed(found[:limit])), len(found) > limit
        older_exist = True  # the line the cursor points at is older than every line of this page
    else:
        at = None if position is None else (position.booked_at, position.posting_id)
        found = await repository.lines_before(session, account_ids, lines, at, limit + 1)
        page, older_exist = found[:limit], len(found) > limit
        newer_exist = position is not None
    # What is held and not booked yet leads the first page (payments on their way out).
    pending = await repository.pending_lines(session, account_ids, lines) if position is None else []
    if not page:
        return TransactionPage(lines=[], next_cursor=None, prev_cursor=None, pending=pending)
    next_cursor = encode_cursor(keyring, scope, _at(page[-1])) if older_exist else None
    prev_cursor = encode_cursor(keyring, scope, _at(page[0], newer=True)) if newer_exist else None
    return TransactionPage(lines=page, next_cursor=next_cursor, prev_cursor=prev_cursor, pending=pending)
