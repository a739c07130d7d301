"""Funds confirmation persistence."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.funds_confirmations.models import FundsConfirmation


async def add(session: AsyncSession, row: FundsConfirmation) -> None:
    session.add(row)
    await session.flush()
