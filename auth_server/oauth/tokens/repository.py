"""Issued token persistence."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.tokens.models import IssuedToken


async def insert(session: AsyncSession, **values: Any) -> None:
    """One token row, as a plain INSERT: issuance is the hot path and needs no ORM bookkeeping."""
    await session.execute(sql_insert(IssuedToken).values(**values))


async def get(session: AsyncSession, token_id: uuid.UUID) -> IssuedToken | None:
    token: IssuedToken | None = await session.get(IssuedToken, token_id, populate_existing=True)
    return token


async def by_hash(session: AsyncSession, hashes: Sequence[bytes]) -> IssuedToken | None:
    token: IssuedToken | None = await session.scalar(
        select(IssuedToken).where(IssuedToken.token_hash.in_(hashes)).execution_options(populate_existing=True)
    )
    return token


async def revoke(
    session: AsyncSession,
    *,
    ids: Sequence[uuid.UUID] = (),
    grant_id: uuid.UUID | None = None,
    authorization_code_id: uuid.UUID | None = None,
    parent_token_ids: Sequence[uuid.UUID] = (),
    reason: str,
    now: datetime,
) -> list[uuid.UUID]:
    """Revoke the live tokens matching any criterion; return the ids revoked now."""
    criteria: list[ColumnElement[bool]] = []
    if ids:
        criteria.append(IssuedToken.id.in_(ids))
    if grant_id is not None:
        criteria.append(IssuedToken.grant_id == grant_id)
    if authorization_code_id is not None:
        criteria.append(IssuedToken.authorization_code_id == authorization_code_id)
    if parent_token_ids:
        criteria.append(IssuedToken.parent_token_id.in_(parent_token_ids))
    if not criteria:
        return []
    statement = (
        update(IssuedToken)
        .where(or_(*criteria), IssuedToken.revoked_at.is_(None))
        .values(revoked_at=now, revocation_reason=reason)
        .returning(IssuedToken.id)
    )
    return list((await session.scalars(statement)).all())
