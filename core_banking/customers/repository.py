"""Customer persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.customers.models import Customer


async def add(session: AsyncSession, customer: Customer) -> None:
    session.add(customer)
    await session.flush()


async def get(session: AsyncSession, customer_id: uuid.UUID, *, for_update: bool = False) -> Customer | None:
    statement = select(Customer).where(Customer.id == customer_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    customer: Customer | None = await session.scalar(statement)
    return customer


async def find_by_email_hashes(session: AsyncSession, hashes: list[bytes]) -> Customer | None:
    customer: Customer | None = await session.scalar(select(Customer).where(Customer.email_hash.in_(hashes)))
    return customer


async def lock_without_name_hash(session: AsyncSession, limit: int) -> Sequence[Customer]:
    """Up to `limit` customers with no name hash yet, locked in id order; rows others hold are skipped."""
    statement = (
        select(Customer)
        .where(Customer.full_name_hash.is_(None))
        .order_by(Customer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).all()


async def lock_onboarding(session: AsyncSession, name: str) -> None:
    """Serialise one onboarding job (such as demo seeding) across processes until this transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
