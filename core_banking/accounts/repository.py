"""Account persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts.models import Account, account_serial


async def next_serial(session: AsyncSession) -> int:
    serial: int = await session.scalar(account_serial.next_value())
    return serial


async def add(session: AsyncSession, account: Account) -> None:
    session.add(account)
    await session.flush()


async def get(session: AsyncSession, account_id: uuid.UUID, *, for_update: bool = False) -> Account | None:
    statement = select(Account).where(Account.id == account_id)
    if for_update:
        statement = statement.with_for_update()
    # Re-read even when the session already holds the object: the ledger writes balances with Core SQL.
    account: Account | None = await session.scalar(statement.execution_options(populate_existing=True))
    return account


# An account's owner and cached balances: the one statement of a current balance read (built once).
_BALANCES = select(
    Account.customer_id,
    Account.currency,
    Account.booked_balance_minor,
    Account.held_minor,
    Account.overdraft_limit_minor,
).where(Account.id == bindparam("account_id"))


async def balances_row(
    session: AsyncSession, account_id: uuid.UUID
) -> Row[uuid.UUID | None, str, int, int, int] | None:
    """(customer_id, currency, booked, held, overdraft limit) of the account, without loading the ORM object."""
    return (await session.execute(_BALANCES, {"account_id": account_id})).first()


async def list_for_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Account]:
    statement = (
        select(Account)
        .where(Account.customer_id == customer_id)
        .order_by(Account.opened_at, Account.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def get_internal(session: AsyncSession, purpose: str, currency: str) -> Account | None:
    statement = (
        select(Account)
        .where(Account.internal_purpose == purpose, Account.currency == currency)
        .execution_options(populate_existing=True)
    )
    account: Account | None = await session.scalar(statement)
    return account


async def insert_internal_if_absent(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert one of the bank's own accounts unless its (purpose, currency) exists; True when inserted."""
    statement = (
        insert(Account)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Account.internal_purpose, Account.currency])
        .returning(Account.id)
    )
    return (await session.execute(statement)).first() is not None
