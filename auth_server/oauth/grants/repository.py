"""Grant persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.grants.models import GrantStatus, OAuthGrant


async def add(session: AsyncSession, grant: OAuthGrant) -> None:
    session.add(grant)
    await session.flush()


async def get(session: AsyncSession, grant_id: uuid.UUID, *, for_update: bool = False) -> OAuthGrant | None:
    grant: OAuthGrant | None = await session.get(
        OAuthGrant, grant_id, with_for_update=for_update, populate_existing=True
    )
    return grant


async def of_customer(session: AsyncSession, customer_id: uuid.UUID) -> Sequence[OAuthGrant]:
    """A customer's grants (by core banking's customer id), newest first."""
    statement = (
        select(OAuthGrant)
        .where(OAuthGrant.customer_id == customer_id)
        .order_by(OAuthGrant.created_at.desc(), OAuthGrant.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def of_subject(session: AsyncSession, subject: uuid.UUID) -> Sequence[OAuthGrant]:
    """A subject's grants, newest first."""
    statement = (
        select(OAuthGrant)
        .where(OAuthGrant.subject == subject)
        .order_by(OAuthGrant.created_at.desc(), OAuthGrant.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def lock_active_of_consent(session: AsyncSession, consent_id: str) -> Sequence[OAuthGrant]:
    """The active grants bound to an Open Banking consent, locked in id order (the one order every writer uses)."""
    statement = (
        select(OAuthGrant)
        .where(OAuthGrant.consent_id == consent_id, OAuthGrant.status == GrantStatus.ACTIVE)
        .order_by(OAuthGrant.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()


async def lock_active_of_sessions(session: AsyncSession, session_ids: Sequence[uuid.UUID]) -> Sequence[OAuthGrant]:
    """The active grants approved in these sign-in sessions, locked in id order (the one order every writer uses)."""
    statement = (
        select(OAuthGrant)
        .where(OAuthGrant.session_id.in_(session_ids), OAuthGrant.status == GrantStatus.ACTIVE)
        .order_by(OAuthGrant.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()
