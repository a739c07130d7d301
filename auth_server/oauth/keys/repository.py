"""Signing key persistence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.keys.models import SigningKey, SigningKeyStatus

# Serialises key creation and rotation across processes (a CLI rotation while servers start).
_KEYS_LOCK = 7331005


async def lock_keys(session: AsyncSession) -> None:
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _KEYS_LOCK})


async def add(session: AsyncSession, key: SigningKey) -> None:
    session.add(key)
    await session.flush()


async def active(session: AsyncSession) -> Sequence[SigningKey]:
    statement = select(SigningKey).where(SigningKey.status == SigningKeyStatus.ACTIVE).order_by(SigningKey.alg)
    return (await session.scalars(statement.execution_options(populate_existing=True))).all()


async def published(session: AsyncSession, now: datetime) -> Sequence[SigningKey]:
    """Active keys, and retired keys whose tokens may still be live."""
    statement = (
        select(SigningKey)
        .where(or_(SigningKey.status == SigningKeyStatus.ACTIVE, SigningKey.publish_until > now))
        .order_by(SigningKey.created_at.desc(), SigningKey.alg)
    )
    return (await session.scalars(statement)).all()


async def all_keys(session: AsyncSession) -> Sequence[SigningKey]:
    return (await session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.alg))).all()
