"""Authorization session persistence."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.authorize.models import AuthorizationSession


async def add(session: AsyncSession, row: AuthorizationSession) -> None:
    session.add(row)
    await session.flush()


async def by_pushed_request(session: AsyncSession, pushed_request_id: uuid.UUID) -> AuthorizationSession | None:
    """The authorization a pushed request started, locked until the transaction ends (one outcome only)."""
    row: AuthorizationSession | None = await session.scalar(
        select(AuthorizationSession)
        .where(AuthorizationSession.pushed_request_id == pushed_request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row


async def complete(session: AsyncSession, authorization_id: uuid.UUID, outcome: str, now: datetime) -> None:
    row = await session.get(AuthorizationSession, authorization_id, with_for_update=True)
    if row is not None and row.completed_at is None:
        row.completed_at, row.outcome = now, outcome
        await session.flush()
