"""Payment persistence: rows locked one payment at a time, status history, payments received once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.accounts.models import Account, AccountKind
from core_banking.payments.models import Payment, PaymentStatusChange, ReceivedPayment
from core_banking.payments.schemas import PaymentStatus

_received = cast(Table, ReceivedPayment.__table__)


async def add(session: AsyncSession, payment: Payment) -> None:
    session.add(payment)
    await session.flush()


async def get(session: AsyncSession, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
    statement = select(Payment).where(Payment.id == payment_id)
    if for_update:
        statement = statement.with_for_update()
    payment: Payment | None = (await session.execute(statement)).scalar_one_or_none()
    return payment


async def get_by_transaction(session: AsyncSession, transaction_id: str, *, for_update: bool = False) -> Payment | None:
    statement = select(Payment).where(Payment.scheme_transaction_id == transaction_id)
    if for_update:
        statement = statement.with_for_update()
    payment: Payment | None = (await session.execute(statement)).scalar_one_or_none()
    return payment


async def list_for_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, limit: int, before: datetime | None = None
) -> Sequence[Payment]:
    statement = select(Payment).where(Payment.customer_id == customer_id)
    if before is not None:
        statement = statement.where(Payment.created_at < before)
    statement = statement.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    return (await session.execute(statement)).scalars().all()


async def add_status_change(
    session: AsyncSession,
    payment_id: uuid.UUID,
    status: PaymentStatus,
    at: datetime,
    reason: str | None = None,
    reason_text: str | None = None,
) -> None:
    session.add(
        PaymentStatusChange(payment_id=payment_id, status=status, reason=reason, reason_text=reason_text, changed_at=at)
    )


async def history(session: AsyncSession, payment_ids: Sequence[uuid.UUID]) -> Sequence[PaymentStatusChange]:
    statement = (
        select(PaymentStatusChange)
        .where(PaymentStatusChange.payment_id.in_(payment_ids))
        .order_by(PaymentStatusChange.payment_id, PaymentStatusChange.id)
    )
    return (await session.execute(statement)).scalars().all()


async def overdue(session: AsyncSession, now: datetime, limit: int) -> Sequence[Payment]:
    """Payments sent to the scheme whose answer is overdue, locked; rows another worker holds are skipped."""
    statement = (
        select(Payment)
        .where(Payment.status == PaymentStatus.ACCEPTED_SETTLEMENT_IN_PROCESS, Payment.answer_due_at <= now)
        .order_by(Payment.answer_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().all()


async def unconfirmed(session: AsyncSession, step: int, now: datetime, limit: int) -> Sequence[Payment]:
    """Payments held for the customer's confirmation past its deadline, locked; others' rows are skipped."""
    statement = (
        select(Payment)
        .where(Payment.status == PaymentStatus.PENDING, Payment.step == step, Payment.answer_due_at <= now)
        .order_by(Payment.answer_due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().all()


async def customer_account_by_number(session: AsyncSession, sort_code: str, account_number: str) -> Account | None:
    """A customer account of this bank by its sort code and number (the bank's own accounts are not payees)."""
    statement = select(Account).where(
        Account.sort_code == sort_code, Account.account_number == account_number, Account.kind == AccountKind.CUSTOMER
    )
    account: Account | None = (await session.execute(statement)).scalar_one_or_none()
    return account


async def claim_received(session: AsyncSession, received: ReceivedPayment) -> bool:
    """Record a payment received from the scheme; False when its transaction id was recorded before."""
    table = _received
    statement = (
        insert(table)
        .values(**{column.name: getattr(received, column.name) for column in table.columns})
        .on_conflict_do_nothing(index_elements=[table.c.scheme_transaction_id])
        .returning(table.c.scheme_transaction_id)
    )
    return (await session.execute(statement)).first() is not None


async def get_received(session: AsyncSession, transaction_id: str) -> ReceivedPayment | None:
    received: ReceivedPayment | None = await session.get(ReceivedPayment, transaction_id)
    return received


async def settle_received(
    session: AsyncSession,
    transaction_id: str,
    status: PaymentStatus,
    reason: str | None,
    entry_id: uuid.UUID | None,
    account_id: uuid.UUID | None,
) -> None:
    await session.execute(
        update(ReceivedPayment)
        .where(ReceivedPayment.scheme_transaction_id == transaction_id)
        .values(status=status, reason=reason, entry_id=entry_id, creditor_account_id=account_id)
    )


async def paid_before(
    session: AsyncSession, customer_id: uuid.UUID, sort_code: str, account_number: str, before: datetime
) -> bool:
    """Whether the customer paid this payee (settled) before `before`."""
    statement = (
        select(Payment.id)
        .where(
            Payment.customer_id == customer_id,
            Payment.creditor_sort_code == sort_code,
            Payment.creditor_account_number == account_number,
            Payment.status == PaymentStatus.ACCEPTED_SETTLEMENT_COMPLETED,
            Payment.created_at < before,
        )
        .limit(1)
    )
    return (await session.execute(statement)).first() is not None
