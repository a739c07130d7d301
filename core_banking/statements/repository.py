"""SQL of statement issuing: which accounts a month's statement is owed to, and the one record of each issue."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts.models import Account, AccountKind
from core_banking.statements.models import StatementIssue


@dataclass(frozen=True, slots=True)
class OwedStatement:
    """A customer account open at some time in the month whose statement is not issued yet."""

    account_id: uuid.UUID
    customer_id: uuid.UUID
    currency: str


async def accounts_owed(
    session: AsyncSession, month_start: date, starts_at: datetime, ends_at: datetime, *, limit: int
) -> list[OwedStatement]:
    """Customer accounts open at some time in [starts_at, ends_at) without the month's issue, in id order."""
    issued = exists().where(StatementIssue.account_id == Account.id, StatementIssue.month == month_start)
    statement = (
        select(Account.id, Account.customer_id, Account.currency)
        .where(
            Account.kind == AccountKind.CUSTOMER,
            Account.opened_at < ends_at,
            or_(Account.closed_at.is_(None), Account.closed_at >= starts_at),
            ~issued,
        )
        .order_by(Account.id)
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [OwedStatement(row.id, row.customer_id, row.currency) for row in rows]


async def record_issue(
    session: AsyncSession,
    account_id: uuid.UUID,
    month_start: date,
    closing_balance_minor: int,
    currency: str,
    issued_at: datetime,
) -> bool:
    """Record the issue unless one exists; False when another run issued it first (it waits for that commit)."""
    statement = (
        insert(StatementIssue)
        .values(
            account_id=account_id,
            month=month_start,
            closing_balance_minor=closing_balance_minor,
            currency=currency,
            issued_at=issued_at,
        )
        .on_conflict_do_nothing(index_elements=[StatementIssue.account_id, StatementIssue.month])
        .returning(StatementIssue.account_id)
    )
    return (await session.execute(statement)).first() is not None
