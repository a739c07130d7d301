"""Payment order persistence: the due order claimed by one runner at a time, its runs once per sequence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.payment_orders.models import OrderStatus, PaymentOrder, PaymentOrderRun


async def add(session: AsyncSession, order: PaymentOrder) -> None:
    session.add(order)
    await session.flush()


async def get(session: AsyncSession, order_id: uuid.UUID, *, for_update: bool = False) -> PaymentOrder | None:
    statement = select(PaymentOrder).where(PaymentOrder.id == order_id)
    if for_update:
        statement = statement.with_for_update()
    order: PaymentOrder | None = (await session.execute(statement)).scalar_one_or_none()
    return order


async def claim_due(session: AsyncSession, now: datetime) -> PaymentOrder | None:
    """The active order due longest ago, locked; orders another runner holds are skipped, never waited for."""
    statement = (
        select(PaymentOrder)
        .where(PaymentOrder.status == OrderStatus.ACTIVE, PaymentOrder.next_due_at <= now)
        .order_by(PaymentOrder.next_due_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    order: PaymentOrder | None = (await session.execute(statement)).scalar_one_or_none()
    return order


async def add_run(session: AsyncSession, run: PaymentOrderRun) -> None:
    session.add(run)
    await session.flush()


async def runs_of(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> Sequence[PaymentOrderRun]:
    statement = (
        select(PaymentOrderRun)
        .where(PaymentOrderRun.order_id.in_(order_ids))
        .order_by(PaymentOrderRun.order_id, PaymentOrderRun.sequence)
    )
    return (await session.execute(statement)).scalars().all()


async def list_orders(
    session: AsyncSession,
    *,
    customer_id: uuid.UUID | None = None,
    account_ids: Sequence[uuid.UUID] | None = None,
    client_id: str | None = None,
    consent_id: str | None = None,
    kinds: Sequence[str] = (),
) -> Sequence[PaymentOrder]:
    statement = select(PaymentOrder)
    if customer_id is not None:
        statement = statement.where(PaymentOrder.customer_id == customer_id)
    if account_ids is not None:
        statement = statement.where(PaymentOrder.debtor_account_id.in_(account_ids))
    if client_id is not None:
        statement = statement.where(PaymentOrder.client_id == client_id)
    if consent_id is not None:
        statement = statement.where(PaymentOrder.consent_id == consent_id)
    if kinds:
        statement = statement.where(PaymentOrder.kind.in_(kinds))
    return (await session.execute(statement.order_by(PaymentOrder.created_at, PaymentOrder.id))).scalars().all()
