"""Account persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core_banking.accounts.models import Account, account_serial
from obank.database import DriverStatement


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


# An account's owner and cached balances: the one statement of a current balance read, on psycopg's connection
# (`DriverStatement`: no statement compilation or result processing per read).
_BALANCES = DriverStatement(
    text(
        "SELECT customer_id, currency, booked_balance_minor, held_minor, overdraft_limit_minor"
        " FROM core_banking.accounts WHERE id = :account_id"
    )
)


@dataclass(frozen=True, slots=True)
class BalancesRow:
    """An account's owner and the figures its balances are derived from."""

    customer_id: uuid.UUID | None
    currency: str
    booked_balance_minor: int
    held_minor: int
    overdraft_limit_minor: int


async def balances_row(session: AsyncSession | AsyncConnection, account_id: uuid.UUID) -> BalancesRow | None:
    """The account's owner and cached balances, without loading the ORM object; None for no such account."""
    rows = await _BALANCES.rows(session, {"account_id": account_id})
    return BalancesRow(*rows[0]) if rows else None


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
