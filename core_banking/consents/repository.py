"""Consent persistence."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.consents.models import Consent


async def add(session: AsyncSession, consent: Consent) -> None:
    session.add(consent)
    await session.flush()


async def get(session: AsyncSession, consent_id: str, *, for_update: bool = False) -> Consent | None:
    statement = select(Consent).where(Consent.id == consent_id).execution_options(populate_existing=True)
    if for_update:
        statement = statement.with_for_update()
    consent: Consent | None = await session.scalar(statement)
    return consent
