"""SQL of the web sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from web.sessions.models import WebSession


async def find(session: AsyncSession, token_hash: bytes) -> WebSession | None:
    result = await session.execute(select(WebSession).where(WebSession.token_hash == token_hash))
    return result.scalar_one_or_none()


async def insert(session: AsyncSession, row: WebSession) -> None:
    session.add(row)
    await session.flush()


async def store(
    session: AsyncSession,
    session_id: uuid.UUID,
    *,
    sealed: bytes,
    subject: str | None,
    last_seen_at: datetime,
    token_hash: bytes | None = None,
) -> None:
    values: dict[str, object] = {"sealed": sealed, "subject": subject, "last_seen_at": last_seen_at}
    if token_hash is not None:
        values["token_hash"] = token_hash
    await session.execute(update(WebSession).where(WebSession.id == session_id).values(**values))


async def remove(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(delete(WebSession).where(WebSession.id == session_id))


async def remove_expired(session: AsyncSession, now: datetime, idle_before: datetime) -> int:
    result = await session.execute(
        delete(WebSession).where((WebSession.expires_at <= now) | (WebSession.last_seen_at <= idle_before))
    )
    return int(getattr(result, "rowcount", 0) or 0)
