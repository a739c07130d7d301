"""Initial access token persistence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.registration.models import InitialAccessToken


async def add_initial_access_token(session: AsyncSession, token: InitialAccessToken) -> None:
    session.add(token)
    await session.flush()


async def use_initial_access_token(session: AsyncSession, hashes: Sequence[bytes], now: datetime) -> bool:
    """Mark an unexpired, unused initial access token used; False when there is none (single use, atomic)."""
    statement = (
        update(InitialAccessToken)
        .where(
            InitialAccessToken.token_hash.in_(hashes),
            InitialAccessToken.used_at.is_(None),
            InitialAccessToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(InitialAccessToken.id)
    )
    return (await session.execute(statement)).first() is not None


async def record_initial_token_client(session: AsyncSession, hashes: Sequence[bytes], client_id: str) -> None:
    await session.execute(
        update(InitialAccessToken).where(InitialAccessToken.token_hash.in_(hashes)).values(client_id=client_id)
    )
