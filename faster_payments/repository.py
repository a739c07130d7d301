"""All of the scheme's SQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from faster_payments.messages import TransactionStatus
from faster_payments.models import FaultSettings, ScheduledMessage, SchemeAccount, SchemeTransaction

FAULTS_ROW = 1


async def add_accounts(session: AsyncSession, accounts: Iterable[dict[str, Any]]) -> int:
    """Insert the accounts not yet known (by sort code and account number); how many were new."""
    rows = list(accounts)
    if not rows:
        return 0
    statement = (
        insert(SchemeAccount)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[SchemeAccount.sort_code, SchemeAccount.account_number])
        .returning(SchemeAccount.id)
    )
    return len((await session.execute(statement)).scalars().all())


async def list_accounts(session: AsyncSession) -> Sequence[SchemeAccount]:
    statement = select(SchemeAccount).order_by(
        SchemeAccount.bank_name, SchemeAccount.sort_code, SchemeAccount.account_number
    )
    return (await session.execute(statement)).scalars().all()


async def get_account(session: AsyncSession, sort_code: str, account_number: str) -> SchemeAccount | None:
    statement = select(SchemeAccount).where(
        SchemeAccount.sort_code == sort_code, SchemeAccount.account_number == account_number
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def insert_transaction(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Record a transaction unless its TxId is known; False when it was (a concurrent insert is waited for)."""
    statement = (
        insert(SchemeTransaction)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[SchemeTransaction.tx_id])
        .returning(SchemeTransaction.tx_id)
    )
    return (await session.execute(statement)).scalar_one_or_none() is not None


async def get_transaction(session: AsyncSession, tx_id: str, *, for_update: bool = False) -> SchemeTransaction | None:
    statement = select(SchemeTransaction).where(SchemeTransaction.tx_id == tx_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def list_transactions(session: AsyncSession, limit: int) -> Sequence[SchemeTransaction]:
    statement = (
        select(SchemeTransaction).order_by(SchemeTransaction.received_at.desc(), SchemeTransaction.tx_id).limit(limit)
    )
    return (await session.execute(statement)).scalars().all()


async def set_status(
    session: AsyncSession, tx_id: str, status: TransactionStatus, reason: str | None, answered_at: datetime
) -> None:
    await session.execute(
        update(SchemeTransaction)
        .where(SchemeTransaction.tx_id == tx_id)
        .values(status=status, reason=reason, answered_at=answered_at)
    )


async def schedule_messages(session: AsyncSession, messages: Iterable[dict[str, Any]]) -> None:
    rows = list(messages)
    if rows:
        await session.execute(insert(ScheduledMessage).values(rows))


async def claim_due_messages(session: AsyncSession, now: datetime, limit: int) -> Sequence[ScheduledMessage]:
    """Lock unsent messages due by `now`, oldest first; rows another dispatcher holds are skipped, not waited for."""
    statement = (
        select(ScheduledMessage)
        .where(ScheduledMessage.sent_at.is_(None), ScheduledMessage.deliver_at <= now)
        .order_by(ScheduledMessage.deliver_at, ScheduledMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().all()


async def mark_sent(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    await session.execute(update(ScheduledMessage).where(ScheduledMessage.id.in_(ids)).values(sent_at=now))


async def list_scheduled(session: AsyncSession, key: str | None = None) -> Sequence[ScheduledMessage]:
    statement = select(ScheduledMessage).order_by(ScheduledMessage.deliver_at, ScheduledMessage.id)
    if key is not None:
        statement = statement.where(ScheduledMessage.key == key)
    return (await session.execute(statement)).scalars().all()


async def get_faults(session: AsyncSession) -> FaultSettings | None:
    statement = select(FaultSettings).where(FaultSettings.id == FAULTS_ROW).execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def save_faults(session: AsyncSession, values: dict[str, Any], now: datetime) -> None:
    """Write the one row of faults (the migration seeds it; an absent one is created)."""
    statement = insert(FaultSettings).values(id=FAULTS_ROW, updated_at=now, **values)
    statement = statement.on_conflict_do_update(index_elements=[FaultSettings.id], set_={**values, "updated_at": now})
    await session.execute(statement)
