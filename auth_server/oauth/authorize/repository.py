"""Authorization session and authorization code persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.authorize.models import AuthorizationCode, AuthorizationSession


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


async def add_code(session: AsyncSession, code: AuthorizationCode) -> None:
    session.add(code)
    await session.flush()


async def code_by_hash(session: AsyncSession, hashes: Sequence[bytes]) -> AuthorizationCode | None:
    """The code's row, locked until the transaction ends (two redemptions cannot both see it unused)."""
    row: AuthorizationCode | None = await session.scalar(
        select(AuthorizationCode)
        .where(AuthorizationCode.code_hash.in_(hashes))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return row


async def grantless_codes_of_sessions(session: AsyncSession, session_ids: Sequence[uuid.UUID]) -> Sequence[uuid.UUID]:
    """The codes without a grant (the staff console's) issued in these sign-in sessions, in id order."""
    statement = (
        select(AuthorizationCode.id)
        .where(AuthorizationCode.session_id.in_(session_ids), AuthorizationCode.grant_id.is_(None))
        .order_by(AuthorizationCode.id)
    )
    return (await session.scalars(statement)).all()


async def expire_unused_codes_of_sessions(
    session: AsyncSession, session_ids: Sequence[uuid.UUID], now: datetime
) -> None:
    """Codes of these sign-in sessions not yet redeemed expire now (a redemption under way holds its row: this
    waits for it)."""
    await session.execute(
        update(AuthorizationCode)
        .where(
            AuthorizationCode.session_id.in_(session_ids),
            AuthorizationCode.used_at.is_(None),
            AuthorizationCode.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
