"""Customer search: customers by keyed hash, or by the clear identifiers of their accounts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts.models import Account, AccountKind
from core_banking.customers.models import Customer


async def customers_by_name_hashes(session: AsyncSession, hashes: list[bytes], limit: int) -> Sequence[Customer]:
    statement = (
        select(Customer)
        .where(Customer.full_name_hash.in_(hashes))
        .order_by(Customer.created_at, Customer.id)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def customers_by_email_hashes(session: AsyncSession, hashes: list[bytes]) -> Sequence[Customer]:
    statement = select(Customer).where(Customer.email_hash.in_(hashes)).order_by(Customer.created_at, Customer.id)
    return (await session.scalars(statement)).all()


async def customers_holding(
    session: AsyncSession, *, iban: str | None = None, sort_code: str | None = None, account_number: str | None = None
) -> Sequence[Customer]:
    """The holder of the customer account with this IBAN, or this sort code and account number."""
    statement = (
        select(Customer)
        .join(Account, Account.customer_id == Customer.id)
        .where(Account.kind == AccountKind.CUSTOMER)
        .order_by(Customer.created_at, Customer.id)
    )
    if iban is not None:
        statement = statement.where(Account.iban == iban)
    if sort_code is not None and account_number is not None:
        statement = statement.where(Account.sort_code == sort_code, Account.account_number == account_number)
    return (await session.scalars(statement.distinct())).all()


async def accounts_of(session: AsyncSession, customer_ids: Sequence[uuid.UUID]) -> Sequence[Account]:
    """The customers' accounts, each customer's oldest first."""
    statement = (
        select(Account)
        .where(Account.customer_id.in_(customer_ids))
        .order_by(Account.customer_id, Account.opened_at, Account.id)
    )
    return (await session.scalars(statement)).all()
