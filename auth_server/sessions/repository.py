"""Browser session persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.sessions.models import BrowserSession


async def add(session: AsyncSession, browser_session: BrowserSession) -> None:
    session.add(browser_session)
    await session.flush()


async def get(session: AsyncSession, session_id: uuid.UUID, *, for_update: bool = False) -> BrowserSession | None:
    statement = select(BrowserSession).where(BrowserSession.id == session_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    found: BrowserSession | None = await session.scalar(statement)
    return found


async def find_live_by_token_hashes(session: AsyncSession, hashes: list[bytes]) -> BrowserSession | None:
    found: BrowserSession | None = await session.scalar(
        select(BrowserSession).where(BrowserSession.token_hash.in_(hashes), BrowserSession.ended_at.is_(None))
    )
    return found


async def end_live_sessions(
    session: AsyncSession, identity_id: uuid.UUID, *, reason: str, now: datetime, keep: uuid.UUID | None
) -> Sequence[uuid.UUID]:
    """End every live session of the identity except `keep`; returns those ended."""
    statement = (
        update(BrowserSession)
        .where(BrowserSession.identity_id == identity_id, BrowserSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
        .returning(BrowserSession.id)
    )
    if keep is not None:
        statement = statement.where(BrowserSession.id != keep)
    return (await session.scalars(statement)).all()


async def live_of_identity(
    session: AsyncSession, identity_id: uuid.UUID, *, now: datetime, idle_since: datetime
) -> Sequence[BrowserSession]:
    """The identity's sessions neither ended nor past their lifetimes (last used after `idle_since`), newest first."""
    statement = (
        select(BrowserSession)
        .where(
            BrowserSession.identity_id == identity_id,
            BrowserSession.ended_at.is_(None),
            BrowserSession.absolute_expires_at > now,
            BrowserSession.last_seen_at > idle_since,
        )
        .order_by(BrowserSession.created_at.desc(), BrowserSession.id)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).all()
