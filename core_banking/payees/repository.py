"""Payee persistence: payees (active ones by customer and account), confirmation checks, this bank's holders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts.models import Account, AccountKind, AccountStatus
from core_banking.payees.models import Payee, PayeeConfirmation

ACTIVE_ACCOUNT_INDEX = "uq_payees_active_account"


async def add_confirmation(session: AsyncSession, confirmation: PayeeConfirmation) -> None:
    session.add(confirmation)
    await session.flush()


async def get_confirmation(session: AsyncSession, confirmation_id: uuid.UUID) -> PayeeConfirmation | None:
    confirmation: PayeeConfirmation | None = await session.get(PayeeConfirmation, confirmation_id)
    return confirmation


async def add(session: AsyncSession, payee: Payee) -> bool:
    """Insert the payee; False, with nothing written, when the customer has an active payee for the account.

    The unique index decides between two concurrent adds of the same account; a savepoint keeps the
    transaction usable after the loser's refusal.
    """
    try:
        async with session.begin_nested():
            session.add(payee)
            await session.flush()
    except IntegrityError as error:
        constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
        if constraint != ACTIVE_ACCOUNT_INDEX:
            raise
        return False
    return True


async def get_active(
    session: AsyncSession, payee_id: uuid.UUID, customer_id: uuid.UUID, *, for_update: bool = False
) -> Payee | None:
    """The customer's payee unless deleted."""
    statement = select(Payee).where(Payee.id == payee_id, Payee.customer_id == customer_id, Payee.deleted_at.is_(None))
    if for_update:
        statement = statement.with_for_update()
    payee: Payee | None = (await session.execute(statement)).scalar_one_or_none()
    return payee


async def find_active_for_account(
    session: AsyncSession, customer_id: uuid.UUID, sort_code: str, account_number: str
) -> Payee | None:
    statement = select(Payee).where(
        Payee.customer_id == customer_id,
        Payee.sort_code == sort_code,
        Payee.account_number == account_number,
        Payee.deleted_at.is_(None),
    )
    payee: Payee | None = (await session.execute(statement)).scalar_one_or_none()
    return payee


async def list_active(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[Payee]:
    """The customer's payees, oldest first."""
    statement = (
        select(Payee)
        .where(Payee.customer_id == customer_id, Payee.deleted_at.is_(None))
        .order_by(Payee.created_at, Payee.id)
    )
    return (await session.execute(statement)).scalars().all()


async def holder_of_account(session: AsyncSession, sort_code: str, account_number: str) -> uuid.UUID | None:
    """The customer holding this bank's account with that number, unless it is closed."""
    statement = select(Account.customer_id).where(
        Account.sort_code == sort_code,
        Account.account_number == account_number,
        Account.kind == AccountKind.CUSTOMER,
        Account.status != AccountStatus.CLOSED,
    )
    customer_id: uuid.UUID | None = (await session.execute(statement)).scalar_one_or_none()
    return customer_id
