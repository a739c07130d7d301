"""Consent persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core_banking.consents.models import Consent, ConsentStatus


async def add(session: AsyncSession, consent: Consent) -> None:
    session.add(consent)
    await session.flush()


async def get(session: AsyncSession, consent_id: str, *, for_update: bool = False) -> Consent | None:
    statement = select(Consent).where(Consent.id == consent_id).execution_options(populate_existing=True)
    if for_update:
        statement = statement.with_for_update()
    consent: Consent | None = await session.scalar(statement)
    return consent


async def lock_lapsed(
    session: AsyncSession, now: datetime, authorisation_window: timedelta, limit: int
) -> Sequence[Consent]:
    """Up to `limit` consents whose time ran out by `now`, locked in id order; rows another transaction holds
    are skipped (a revocation in flight decides them, or the next run does)."""
    live = Consent.status.in_((ConsentStatus.AWAITING_AUTHORISATION, ConsentStatus.AUTHORISED))
    statement = (
        select(Consent)
        .where(
            or_(
                and_(live, Consent.expires_at <= now),
                and_(
                    Consent.status == ConsentStatus.AWAITING_AUTHORISATION,
                    Consent.created_at <= now - authorisation_window,
                ),
            )
        )
        .order_by(Consent.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def list_for_customer(
    session: AsyncSession, customer_id: uuid.UUID, *, limit: int, before: datetime | None = None
) -> Sequence[Consent]:
    """The customer's consents newest first; `before` (a `created_at`) pages back."""
    statement = select(Consent).where(Consent.customer_id == customer_id)
    if before is not None:
        statement = statement.where(Consent.created_at < before)
    statement = statement.order_by(Consent.created_at.desc(), Consent.id.desc()).limit(limit)
    return (await session.scalars(statement.execution_options(populate_existing=True))).all()
