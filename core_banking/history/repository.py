"""Reads of account history: postings with their entries, balances and holds at a past moment."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.history.schemas import Direction, PendingLine, TransactionFilter, TransactionLine
from core_banking.ledger.models import Hold, HoldStatus, JournalEntry, Posting

_postings = cast(Table, Posting.__table__)
_entries = cast(Table, JournalEntry.__table__)
_holds = cast(Table, Hold.__table__)

_LINES = select(
    _postings.c.id,
    _postings.c.account_id,
    _postings.c.entry_id,
    _entries.c.kind,
    _entries.c.description,
    _entries.c.reference,
    _postings.c.currency,
    _postings.c.amount_minor,
    _postings.c.balance_after_minor,
    _postings.c.booked_at,
).join_from(_postings, _entries, _entries.c.id == _postings.c.entry_id)
# An account's postings in booking order; (booked_at, id) is unique, so it is a total order for keyset paging.
_NEWEST_FIRST = (_postings.c.booked_at.desc(), _postings.c.id.desc())
_OLDEST_FIRST = (_postings.c.booked_at, _postings.c.id)


def _line(row: Row[Any]) -> TransactionLine:
    return TransactionLine(
        posting_id=row.id,
        entry_id=row.entry_id,
        kind=row.kind,
        description=row.description,
        reference=row.reference,
        currency=row.currency,
        amount_minor=row.amount_minor,
        balance_after_minor=row.balance_after_minor,
        booked_at=row.booked_at,
        account_id=row.account_id,
    )


def _filtered(statement: Select[Any], account_ids: Sequence[uuid.UUID], lines: TransactionFilter) -> Select[Any]:
    if len(account_ids) == 1:
        statement = statement.where(_postings.c.account_id == account_ids[0])
    else:
        statement = statement.where(_postings.c.account_id.in_(account_ids))
    if lines.booked_from is not None:
        statement = statement.where(_postings.c.booked_at >= lines.booked_from)
    if lines.booked_before is not None:
        statement = statement.where(_postings.c.booked_at < lines.booked_before)
    if lines.direction is Direction.CREDIT:
        statement = statement.where(_postings.c.amount_minor > 0)
    elif lines.direction is Direction.DEBIT:
        statement = statement.where(_postings.c.amount_minor < 0)
    if lines.min_amount_minor is not None:
        statement = statement.where(func.abs(_postings.c.amount_minor) >= lines.min_amount_minor)
    if lines.max_amount_minor is not None:
        statement = statement.where(func.abs(_postings.c.amount_minor) <= lines.max_amount_minor)
    return statement


async def lines_before(
    session: AsyncSession,
    account_ids: Sequence[uuid.UUID],
    lines: TransactionFilter,
    position: tuple[datetime, int] | None,
    limit: int,
) -> list[TransactionLine]:
    """Up to `limit` lines of the accounts newest first, strictly older than `position` (booked_at, posting id).

    Lines booked later land before the first page, never between pages. Posting ids are unique across
    accounts, so (booked_at, id) orders the lines of several accounts as totally as those of one.
    """
    statement = _filtered(_LINES, account_ids, lines)
    if position is not None:
        statement = statement.where(tuple_(_postings.c.booked_at, _postings.c.id) < tuple_(*position))
    rows = (await session.execute(statement.order_by(*_NEWEST_FIRST).limit(limit))).all()
    return [_line(row) for row in rows]


async def lines_after(
    session: AsyncSession,
    account_ids: Sequence[uuid.UUID],
    lines: TransactionFilter,
    position: tuple[datetime, int],
    limit: int,
) -> list[TransactionLine]:
    """Up to `limit` lines of the accounts strictly newer than `position`, the nearest first (oldest first)."""
    statement = _filtered(_LINES, account_ids, lines)
    statement = statement.where(tuple_(_postings.c.booked_at, _postings.c.id) > tuple_(*position))
    rows = (await session.execute(statement.order_by(*_OLDEST_FIRST).limit(limit))).all()
    return [_line(row) for row in rows]


async def lines_between(
    session: AsyncSession, account_id: uuid.UUID, start: datetime, end: datetime
) -> list[TransactionLine]:
    """Every line booked in [start, end), oldest first."""
    statement = _filtered(_LINES, [account_id], TransactionFilter(booked_from=start, booked_before=end))
    return [_line(row) for row in (await session.execute(statement.order_by(*_OLDEST_FIRST))).all()]


async def booked_balance_at(session: AsyncSession, account_id: uuid.UUID, moment: datetime, *, inclusive: bool) -> int:
    """The booked balance just after `moment` (`inclusive`) or just before it: the last posting's balance."""
    booked_at = _postings.c.booked_at
    statement = (
        select(_postings.c.balance_after_minor)
        .where(_postings.c.account_id == account_id, booked_at <= moment if inclusive else booked_at < moment)
        .order_by(*_NEWEST_FIRST)
        .limit(1)
    )
    balance: int | None = await session.scalar(statement)
    return balance or 0


async def held_at(session: AsyncSession, account_id: uuid.UUID, moment: datetime) -> int:
    """The total of the account's holds open at `moment`."""
    statement = select(func.coalesce(func.sum(_holds.c.amount_minor), 0)).where(
        _holds.c.account_id == account_id,
        _holds.c.created_at <= moment,
        or_(_holds.c.closed_at.is_(None), _holds.c.closed_at > moment),
    )
    held: int = await session.scalar(statement) or 0
    return int(held)


async def totals_between(
    session: AsyncSession, account_id: uuid.UUID, start: datetime, end: datetime
) -> tuple[int, int]:
    """(paid in, paid out) of the account's lines booked in [start, end), both positive minor units."""
    amount = _postings.c.amount_minor
    statement = select(
        func.coalesce(func.sum(amount).filter(amount > 0), 0),
        func.coalesce(-func.sum(amount).filter(amount < 0), 0),
    ).where(_postings.c.account_id == account_id, _postings.c.booked_at >= start, _postings.c.booked_at < end)
    paid_in, paid_out = (await session.execute(statement)).one()
    return int(paid_in), int(paid_out)


async def pending_lines(
    session: AsyncSession, account_ids: Sequence[uuid.UUID], lines: TransactionFilter
) -> list[PendingLine]:
    """The accounts' open holds within the filter (placed in the booking window; debits), newest first."""
    if lines.direction is Direction.CREDIT:
        return []
    holds = _holds
    statement = select(holds).where(holds.c.account_id.in_(account_ids), holds.c.status == HoldStatus.OPEN)
    if lines.booked_from is not None:
        statement = statement.where(holds.c.created_at >= lines.booked_from)
    if lines.booked_before is not None:
        statement = statement.where(holds.c.created_at < lines.booked_before)
    if lines.min_amount_minor is not None:
        statement = statement.where(holds.c.amount_minor >= lines.min_amount_minor)
    if lines.max_amount_minor is not None:
        statement = statement.where(holds.c.amount_minor <= lines.max_amount_minor)
    rows = (await session.execute(statement.order_by(holds.c.created_at.desc(), holds.c.id))).mappings().all()
    return [
        PendingLine(
            hold_id=row["id"],
            account_id=row["account_id"],
            description=row["description"],
            reference=row["reference"],
            currency=row["currency"],
            amount_minor=-row["amount_minor"],
            created_at=row["created_at"],
        )
        for row in rows
    ]
